"""Read a JSON file an operator gave us (a plan, a persist.json) with one-line errors.

Every failure names the file and says what is wrong (missing, unreadable, not JSON), so
the CLI can print it as is; `error` is the caller's exception class.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def load_json(path: Path, error: type[Exception], *, missing: str, invalid: str) -> Any:
    """The decoded document; `error(f"{path}: {missing}")` when the file is absent and
    `error(f"{path}: {invalid}: <where>")` when it is not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: {missing}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(
            f"{path}: {invalid}: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
