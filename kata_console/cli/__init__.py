"""The `kata-console` command line: a headless CLI over the same core as the console.

Subcommands live in their own modules and are imported only when chosen, so that
`kata-console chains` never pays for (or depends on) textual or grpc. Each module
provides `register(subparsers)` and `run(args) -> int`.

Exit codes for every command: 0 fine, 1 the operation failed, 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from kata_console import __version__

#: subcommand name -> module under kata_console.cli (imported lazily)
SUBCOMMANDS: dict[str, str] = {
    "chains": "chains",
    "rootfs": "rootfs",
    "play": "play",
    "agent": "agent",
    "inspect": "inspect",
    "record": "record",
    "doctor": "doctor",
}

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage or input: printed as one line, exit code 2."""


def print_json(data: Any, indent: int | None = None) -> None:
    """One JSON document on stdout, always valid UTF-8.

    Paths are decoded with surrogateescape, so a non-UTF-8 byte is a lone surrogate that
    no strict encoder can write; written as the JSON escape `\\udcff`, it decodes back to
    the same string, and the rest of the text stays readable (ensure_ascii=False).
    """
    text = json.dumps(data, ensure_ascii=False, indent=indent) + "\n"
    raw = text.encode("utf-8", "backslashreplace")
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(raw.decode("utf-8"))
        return
    sys.stdout.flush()
    buffer.write(raw)


def _tolerant_stdout() -> None:
    """Human output: write a path's undecodable bytes back as they were (UTF-8 terminals)
    or escaped (other encodings), never fail with UnicodeEncodeError halfway through."""
    encoding = (getattr(sys.stdout, "encoding", "") or "").lower().replace("-", "")
    errors = "surrogateescape" if encoding == "utf8" else "backslashreplace"
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(errors=errors)  # type: ignore[union-attr]


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit code 2 (no traceback)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with `only`, import just that subcommand's module.

    The console's own options are part of it, so that `--help` lists them and
    `--source demo --help` prints help instead of starting the console.
    """
    from kata_console.cli.tui import add_console_arguments

    parser = _Parser(
        prog="kata-console",
        description="Inspect Kata Containers sandboxes, containers, devices and EROFS chains. "
        "Without a COMMAND, opens the console; with one, runs it headless.",
        epilog="Exit codes: 0 fine, 1 the operation failed, 2 bad usage or input.",
    )
    parser.add_argument("--version", action="version", version=f"kata-console {__version__}")
    add_console_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    names = [only] if only in SUBCOMMANDS else list(SUBCOMMANDS)
    for name in names:
        importlib.import_module(f"kata_console.cli.{SUBCOMMANDS[name]}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The `kata-console` entry point: every outcome is an exit code, never a traceback
    for bad input, and a reader that stops reading early (`| head`) is not a failure."""
    _tolerant_stdout()
    try:
        try:
            code = _main(list(sys.argv[1:] if argv is None else argv))
        except SystemExit as exc:  # argparse after --help, --version or a usage error
            code = exc.code if isinstance(exc.code, int) else EXIT_OK if exc.code is None else 1
        sys.stdout.flush()
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    return code


def _drop_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered for the closed pipe would
    otherwise fail again at exit ("Exception ignored ... BrokenPipeError")."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _main(args_list: list[str]) -> int:
    first = _first_word(args_list)
    parser = build_parser(only=first if first in SUBCOMMANDS else None)
    if first is not None and first not in SUBCOMMANDS:
        choices = ", ".join(SUBCOMMANDS)
        print(
            f"kata-console: error: unknown command {first!r} (choose from {choices})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    args = parser.parse_args(args_list)
    if args.command is None:
        # No subcommand: everything belongs to the console (`--source host`, `--theme`...).
        return _console(parser, args)
    given = _console_options_given(args)
    if given:
        print(
            f"kata-console: error: {given[0]} is a console option; "
            f"it does not apply to `{args.command}`",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"kata-console {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _first_word(argv: list[str]) -> str | None:
    """The first argument that is neither an option nor the value of the option before
    it (`--source host`), i.e. the subcommand, if any."""
    from kata_console.cli.tui import CONSOLE_VALUE_OPTIONS

    expect_value = False
    for arg in argv:
        if arg == "--":
            return None
        if expect_value:
            expect_value = False
            continue
        if arg.startswith("-") and arg != "-":
            expect_value = "=" not in arg and any(
                o.startswith(arg) for o in CONSOLE_VALUE_OPTIONS if len(arg) > 2
            )
            continue
        return arg
    return None


def _console_options_given(args: argparse.Namespace) -> list[str]:
    from kata_console.cli.tui import CONSOLE_DESTS

    return [
        option
        for dest, option in CONSOLE_DESTS.items()
        if getattr(args, dest, None) not in (None, False)
    ]


def _console(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """No subcommand: the console (TUI) when it is installed, else help."""
    try:
        importlib.import_module("textual")
    except ModuleNotFoundError:
        parser.print_help()
        return EXIT_OK
    from kata_console.cli import tui

    return int(tui.run(args))
