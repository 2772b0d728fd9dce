"""The console's small settings file: the theme last chosen in the palette, a keymap,
the refresh interval and the step-through's slow-motion delay, in
`$XDG_CONFIG_HOME/kata-console/config.json` (default `~/.config`). Options on the
command line win over it.

The file is the operator's: a bad one is one clear line and exit 2, never a traceback
and never silently ignored; the console only writes the theme back, keeping the rest.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

#: the settings the file may hold, and what each must be
KNOWN = {
    "theme": "a theme name",
    "keymap": "an object of binding id -> keys",
    "refresh": "seconds",
    "step_delay": "seconds",
}


def config_path() -> Path:
    """Where the settings live (XDG base directory rules)."""
    base = os.environ.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if os.path.isabs(base) else Path.home() / ".config"
    return root / "kata-console" / "config.json"


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The settings ({} when there is no file); ValueError naming the file and the
    setting when it cannot be used."""
    path = path or config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the settings: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON settings (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict):
        raise ValueError(f'{path}: the settings are a JSON object like {{"theme": "nord"}}')
    for key, value in data.items():
        if key not in KNOWN:
            raise ValueError(f"{path}: unknown setting {key!r} (known: {', '.join(KNOWN)})")
        good = {
            "theme": isinstance(value, str) and bool(value),
            "keymap": isinstance(value, dict)
            and all(isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()),
            "refresh": _seconds(value),
            "step_delay": _seconds(value),
        }[key]
        if not good:
            raise ValueError(f"{path}: {key} must be {KNOWN[key]}, not {json.dumps(value)}")
    return data


def _seconds(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def remember_theme(theme: str, path: Path | None = None) -> str | None:
    """Write the theme into the settings, keeping what else they hold; the reason when
    that was not possible (the console says it, and runs on)."""
    path = path or config_path()
    try:
        data = load_config(path)
    except ValueError as exc:
        return str(exc)
    data["theme"] = theme
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        return f"{path}: cannot save the theme: {exc.strerror or exc}"
    return None
