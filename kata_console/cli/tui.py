"""`kata-console` with no subcommand: the console (TUI).

The only CLI module that imports textual, and only here, so headless subcommands never
pay for it. `--source demo` (default), `host`, or `plan:FILE`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from kata_console.cli import EXIT_OK, EXIT_USAGE


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kata-console",
        description="The console: sandboxes, containers, devices and EROFS chains. "
        "Subcommands (chains, rootfs, play, ...) are the headless CLI; see `kata-console --help`.",
    )
    p.add_argument(
        "--source",
        default="auto",
        metavar="auto|demo|host|plan:FILE",
        help="auto (default): host when Kata sandboxes are found here, else demo; demo: the "
        "embedded scenario; host: this machine, read-only; plan:FILE: a `play` plan in the "
        "step-through view",
    )
    p.add_argument(
        "--keymap",
        metavar="FILE",
        help='JSON object of binding id -> keys, e.g. {"container.stop": "ctrl+x"}',
    )
    p.add_argument(
        "--allow-actions",
        action="store_true",
        help="allow lifecycle actions on a read-only source (each still asks for confirmation)",
    )
    p.add_argument("--theme", default="textual-dark", help="Textual theme (default textual-dark)")
    p.add_argument(
        "--refresh", type=float, default=2.0, metavar="SECONDS", help="host refresh interval"
    )
    return p


#: where the Go runtime and runtime-rs keep one directory per sandbox
KATA_STATE_DIRS = ("/run/vc/sbs", "/run/kata")


def kata_sandboxes_present(dirs: Sequence[str] = KATA_STATE_DIRS) -> bool:
    """True when this host has at least one Kata sandbox state directory."""
    for top in dirs:
        try:
            if any(entry.is_dir() for entry in os.scandir(top)):
                return True
        except OSError:
            continue
    return False


def load_keymap(path: str) -> dict[str, str]:
    """A keymap file: a JSON object of binding id -> key string; ValueError if bad."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such keymap file") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON keymap ({exc})") from None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in data.items()
    ):
        raise ValueError(f'{path}: a keymap is a JSON object like {{"container.stop": "ctrl+x"}}')
    for binding_id, keys in data.items():
        for key in keys.split(","):
            if not key.strip() or any(not part for part in key.strip().split("+")):
                raise ValueError(f"{path}: {binding_id}: {keys!r} is not a key (e.g. ctrl+x, f2)")
    return data


def binding_ids() -> set[str]:
    """Every binding id of the console (app, screens, widgets), for checking a keymap."""
    import importlib
    import pkgutil

    import kata_console.screens
    import widgets
    from kata_console.app import KataConsole

    classes: list[type] = [KataConsole]
    for package in (kata_console.screens, widgets):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            classes += [v for v in vars(module).values() if isinstance(v, type)]
    ids: set[str] = set()
    for cls in classes:
        for binding in getattr(cls, "BINDINGS", ()) or ():
            if getattr(binding, "id", None):
                ids.add(binding.id)
    return ids


def make_source(spec: str, allow_actions: bool):  # type: ignore[no-untyped-def]
    """The source a `--source` value names; ValueError with a one-line reason if bad."""
    if spec == "auto":
        spec = "host" if kata_sandboxes_present() else "demo"
    if spec == "host":
        from kata_console.sources.host_source import HostSource

        return HostSource()
    if spec == "demo":
        from kata_console.sources.demo_source import DemoSource

        return DemoSource()
    if spec.startswith("plan:"):
        path = spec.removeprefix("plan:")
        if not path:
            raise ValueError(
                "--source plan:FILE needs a plan file (e.g. plan:fixtures/plans/basic.json)"
            )
        from kata_console.engine.lifecycle.plan import PlanError
        from kata_console.sources.plan_source import PlanSource

        try:
            return PlanSource(path)
        except PlanError as exc:
            raise ValueError(str(exc)) from None
    raise ValueError(f"unknown source {spec!r} (expected demo, host or plan:FILE)")


def main(argv: Sequence[str] | None = None) -> int:
    # grpc's C-core writes to stderr, i.e. over the screen: errors reach the user through
    # the status line and the logs instead.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        keymap = load_keymap(args.keymap) if args.keymap else None
        source = make_source(args.source, args.allow_actions)
    except ValueError as exc:
        print(f"kata-console: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from textual.theme import BUILTIN_THEMES

    if args.theme not in BUILTIN_THEMES:
        print(
            f"kata-console: error: unknown theme {args.theme!r} "
            f"(one of: {', '.join(sorted(BUILTIN_THEMES))})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from kata_console.app import KataConsole
    from kata_console.sources.host_source import EMPTY_NOTICE

    host = type(source).__name__ == "HostSource"
    app = KataConsole(
        source,
        allow_actions=args.allow_actions,
        theme=args.theme,
        refresh_interval=args.refresh if host else None,
        empty_notice=EMPTY_NOTICE if host else "",
    )
    if keymap:
        unknown = sorted(set(keymap) - binding_ids())
        if unknown:
            print(
                f"kata-console: error: {args.keymap}: unknown binding id(s): "
                f"{', '.join(unknown)} (? lists each view's keys)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        app.set_keymap(keymap)
    app.run()
    return EXIT_OK if app.return_code in (None, 0) else int(app.return_code or 1)
