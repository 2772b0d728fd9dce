"""The `kata-console` command line: a headless CLI over the same core as the console.

Subcommands live in their own modules and are imported only when chosen, so that
`kata-console chains` never pays for (or depends on) textual or grpc. Each module
provides `register(subparsers)` and `run(args) -> int`.

Exit codes for every command: 0 fine, 1 the operation failed, 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from kata_console import __version__

#: subcommand name -> module under kata_console.cli (imported lazily)
SUBCOMMANDS: dict[str, str] = {
    "chains": "chains",
    "rootfs": "rootfs",
    "play": "play",
    "agent": "agent",
}

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad usage or input: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit code 2 (no traceback)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with `only`, import just that subcommand's module."""
    parser = _Parser(
        prog="kata-console",
        description="Inspect Kata Containers sandboxes, containers, devices and EROFS chains.",
    )
    parser.add_argument("--version", action="version", version=f"kata-console {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    names = [only] if only in SUBCOMMANDS else list(SUBCOMMANDS)
    for name in names:
        importlib.import_module(f"kata_console.cli.{SUBCOMMANDS[name]}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(only=first if first in SUBCOMMANDS else None)
    if first is not None and first not in SUBCOMMANDS and not _is_option_value(args_list, first):
        choices = ", ".join(SUBCOMMANDS)
        print(
            f"kata-console: error: unknown command {first!r} (choose from {choices})",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if first not in SUBCOMMANDS and not {"-h", "--help", "--version"} & set(args_list):
        # No subcommand: everything belongs to the console (`--source host`, `--theme`...).
        return _no_subcommand(parser, args_list)
    args = parser.parse_args(args_list)
    if args.command is None:
        return _no_subcommand(parser, args_list)
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"kata-console {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


def _is_option_value(argv: list[str], word: str) -> bool:
    """True when `word` is the value of the option before it (`--source host`)."""
    i = argv.index(word)
    return i > 0 and argv[i - 1].startswith("--") and "=" not in argv[i - 1]


def _no_subcommand(parser: argparse.ArgumentParser, argv: list[str]) -> int:
    """No subcommand: the console (TUI) when it is installed, else help."""
    try:
        tui = importlib.import_module("kata_console.cli.tui")
    except ModuleNotFoundError:
        parser.print_help()
        return EXIT_OK
    return int(tui.main(argv))
