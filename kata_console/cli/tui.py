"""`kata-console` with no subcommand: the console (TUI).

The only CLI module that imports textual, and only here, so headless subcommands never
pay for it. `--source demo` (default), `host`, or `plan:FILE`.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kata_console.cli import EXIT_OK, EXIT_USAGE
from kata_console.cli.fileargs import path_arg

if TYPE_CHECKING:
    from kata_console.keymap import BindingSpec

#: dest -> option of every console option (distinct dests: `rootfs --source` is another)
CONSOLE_DESTS = {
    "console_source": "--source",
    "console_keymap": "--keymap",
    "console_theme": "--theme",
    "console_refresh": "--refresh",
    "console_step_delay": "--step-delay",
    "console_allow_actions": "--allow-actions",
    "console_vc_root": "--vc-root",
}
#: the console options that take a value (the CLI skips it when looking for a COMMAND)
CONSOLE_VALUE_OPTIONS = (
    "--source",
    "--keymap",
    "--theme",
    "--refresh",
    "--vc-root",
    "--step-delay",
)
DEFAULT_REFRESH = 2.0
#: each refresh restarts the reload in progress, so an interval shorter than a reload of
#: a busy host would never show anything; a day apart is already no refresh at all
MIN_REFRESH, MAX_REFRESH = 0.5, 86400.0


def refresh_seconds(text: str) -> float:
    """`--refresh`: a finite number of seconds in range. A negative, zero or NaN interval
    made the console's timer fire continuously and starve its input handling (`q`)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and MIN_REFRESH <= value <= MAX_REFRESH):
        raise argparse.ArgumentTypeError(
            f"{text!r}: the refresh interval is a number of seconds "
            f"from {MIN_REFRESH:g} to {MAX_REFRESH:g}"
        )
    return value


def step_delay_seconds(text: str) -> float:
    """`--step-delay`: 0 (run freely) up to a minute between two steps."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (math.isfinite(value) and 0 <= value <= 60):
        raise argparse.ArgumentTypeError(f"{text!r}: the step delay is 0 to 60 seconds")
    return value


def add_console_arguments(parser: argparse.ArgumentParser) -> None:
    """The console's options, shared by `kata-console --help` and the console itself."""
    g = parser.add_argument_group("console options (used when no COMMAND is given)")
    g.add_argument(
        "--source",
        dest="console_source",
        metavar="auto|demo|host|snapshot:FILE|plan:FILE",
        help="auto (default): host when Kata sandboxes are found here, else demo; demo: the "
        "embedded scenario; host: this machine's Kata sandboxes, read-only; snapshot:FILE: a "
        "host recorded by `kata-console record`; plan:FILE: a `play` plan in the step-through "
        "view",
    )
    g.add_argument(
        "--vc-root",
        dest="console_vc_root",
        type=path_arg,
        metavar="DIR",
        help="host source: the Go runtime's state root holding sbs/ and vm/ (default /run/vc)",
    )
    g.add_argument(
        "--keymap",
        dest="console_keymap",
        type=path_arg,
        metavar="FILE",
        help='JSON object of binding id -> keys, e.g. {"container.stop": "ctrl+x"}',
    )
    g.add_argument(
        "--allow-actions",
        dest="console_allow_actions",
        action="store_true",
        help="allow lifecycle actions on a read-only source (each still asks for confirmation)",
    )
    g.add_argument(
        "--theme",
        dest="console_theme",
        metavar="THEME",
        help="Textual theme (default: the one last chosen in the palette, else textual-dark)",
    )
    g.add_argument(
        "--refresh",
        dest="console_refresh",
        type=refresh_seconds,
        metavar="SECONDS",
        help=f"host source: reload every SECONDS (default {DEFAULT_REFRESH:g})",
    )
    g.add_argument(
        "--step-delay",
        dest="console_step_delay",
        type=step_delay_seconds,
        metavar="SECONDS",
        help="step-through: `c` runs one step every SECONDS (slow motion; default 0, freely)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The console's parser alone (`tui.main`); `kata-console` itself uses the CLI's."""
    from kata_console.cli import _Parser

    p = _Parser(
        prog="kata-console",
        description="The console: sandboxes, containers, devices and EROFS chains. "
        "Subcommands (chains, rootfs, play, ...) are the headless CLI; see `kata-console --help`.",
    )
    add_console_arguments(p)
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
    from kata_console.engine.jsonfile import load_json

    data = load_json(
        path, ValueError, missing="no such keymap file", invalid="not a JSON keymap", what="keymap"
    )
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in data.items()
    ):
        raise ValueError(f'{path}: a keymap is a JSON object like {{"container.stop": "ctrl+x"}}')
    return keymap_of(data, path)


def keymap_of(data: dict[str, str], where: str) -> dict[str, str]:
    """The keymap with every key normalized; ValueError naming the binding and key."""
    from kata_console.keymap import normalize_keys

    keymap: dict[str, str] = {}
    for binding_id, keys in data.items():
        try:
            keymap[binding_id] = normalize_keys(keys)
        except ValueError as exc:  # names the key and why (e.g. "'ctrl+' is not a key: ...")
            raise ValueError(f"{where}: {binding_id}: {exc}") from None
    return keymap


def step_delay_setting(value: float, where: str) -> float:
    """The settings file's slow-motion delay, in the range `--step-delay` accepts."""
    try:
        return step_delay_seconds(repr(float(value)))
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"{where}: step_delay {exc}") from None


def refresh_setting(value: float, where: str) -> float:
    """The settings file's refresh interval, in the range `--refresh` accepts."""
    try:
        return refresh_seconds(repr(float(value)))
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"{where}: refresh {exc}") from None


def check_keymap(keymap: dict[str, str], path: str) -> None:
    """ValueError naming the binding when the keymap cannot be used: an id no binding
    has, or a rebinding that takes away quit or a way out of a view."""
    from kata_console.keymap import keymap_problem

    unknown = sorted(set(keymap) - binding_ids())
    if unknown:
        raise ValueError(
            f"{path}: unknown binding id(s): {', '.join(unknown)} (? lists each view's keys)"
        )
    problem = keymap_problem(keymap, binding_specs())
    if problem is not None:
        raise ValueError(f"{path}: {problem}")


def _binding_classes() -> list[type]:
    import importlib
    import pkgutil

    import kata_console.screens
    import widgets
    from kata_console.app import KataConsole

    classes: list[type] = [KataConsole]
    for package in (kata_console.screens, widgets):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            classes += [
                v
                for v in vars(module).values()
                if isinstance(v, type) and v.__module__ == info.name
            ]
    return classes


def binding_ids() -> set[str]:
    """Every binding id of the console (app, screens, widgets), for checking a keymap."""
    return {spec.id for spec in binding_specs()}


def binding_specs() -> list[BindingSpec]:
    """Every console binding with where it lives (app, a view, a modal, a widget): the
    table `keymap_problem` checks a keymap against, built without starting the app."""
    from textual.app import App
    from textual.screen import ModalScreen, Screen

    from kata_console.keymap import ANYWHERE, APP, SCREEN, VIEWS, WIDGET, specs_of

    specs: list[BindingSpec] = []
    for cls in _binding_classes():
        own = cls.__dict__.get("BINDINGS")
        if not own:
            continue
        if issubclass(cls, App):
            specs += specs_of(cls, own, APP, ANYWHERE)
        elif issubclass(cls, ModalScreen):  # a modal has its own keys, the app's above it
            specs += specs_of(cls, own, SCREEN, cls.__name__)
        elif issubclass(cls, Screen):
            specs += specs_of(cls, own, SCREEN, VIEWS)
        else:
            specs += specs_of(cls, own, WIDGET, VIEWS)
    return specs


def make_source(spec: str, allow_actions: bool, vc_root: str | None = None):  # type: ignore[no-untyped-def]
    """The source a `--source` value names; ValueError with a one-line reason if bad."""
    if spec == "auto":
        roots = (f"{vc_root}/sbs",) if vc_root else KATA_STATE_DIRS
        spec = "host" if kata_sandboxes_present(roots) else "demo"
    if spec == "host" or spec.startswith("snapshot:"):
        from kata_console.sources.host_source import HostSource

        snapshot = spec.removeprefix("snapshot:") if spec != "host" else None
        if snapshot == "":
            raise ValueError("--source snapshot:FILE needs a recording made by `record`")
        return HostSource(vc_root=vc_root, snapshot=snapshot)
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
    raise ValueError(f"unknown source {spec!r} (expected demo, host, snapshot:FILE or plan:FILE)")


def main(argv: Sequence[str] | None = None) -> int:
    """The console with its own options only (no subcommands)."""
    try:
        args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Start the console the parsed options describe; bad options exit 2 before it starts."""
    # grpc's C-core writes to stderr, i.e. over the screen: errors reach the user through
    # the status line and the logs instead.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    from kata_console.config import config_path, load_config

    keymap_path = args.console_keymap
    allow_actions = bool(args.console_allow_actions)
    spec = "auto" if args.console_source is None else args.console_source
    try:
        settings = load_config()  # the command line wins over the settings file
        theme = args.console_theme or settings.get("theme", "textual-dark")
        refresh = args.console_refresh or settings.get("refresh", DEFAULT_REFRESH)
        if args.console_refresh is None and "refresh" in settings:
            refresh = refresh_setting(refresh, str(config_path()))
        step_delay = args.console_step_delay
        if step_delay is None:
            step_delay = step_delay_setting(settings.get("step_delay", 0.0), str(config_path()))
        if keymap_path is not None:
            keymap = load_keymap(keymap_path)
        elif "keymap" in settings:
            keymap_path = str(config_path())
            keymap = keymap_of(settings["keymap"], f"{keymap_path}: keymap")
        else:
            keymap = None
        if keymap:
            check_keymap(keymap, keymap_path or "")
        source = make_source(spec, allow_actions, args.console_vc_root)
    except ValueError as exc:
        print(f"kata-console: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from textual.theme import BUILTIN_THEMES

    if theme not in BUILTIN_THEMES:
        print(
            f"kata-console: error: unknown theme {theme!r} "
            f"(one of: {', '.join(sorted(BUILTIN_THEMES))})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    from kata_console.app import KataConsole
    from kata_console.config import remember_theme
    from kata_console.sources.host_source import EMPTY_NOTICE

    host = type(source).__name__ == "HostSource"
    app = KataConsole(
        source,
        allow_actions=allow_actions,
        theme=theme,
        refresh_interval=refresh if host else None,
        empty_notice=EMPTY_NOTICE if host else "",
        remember_theme=remember_theme,
        step_delay=step_delay,
    )
    if keymap:
        app.set_keymap(keymap)
    app.run()
    return EXIT_OK if app.return_code in (None, 0) else int(app.return_code or 1)
