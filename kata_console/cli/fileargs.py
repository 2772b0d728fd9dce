"""Checks on file arguments, made before any work is done.

`path_arg` refuses an empty name or one with a NUL byte at parse time: `Path("")` is
the current directory, so `--snapshot ""` would otherwise mean something else entirely.
Files the CLI writes (`--record FILE`) are written atomically (a temp file renamed over the target), and a rename replaces
whatever the name held: run as root, `--record /dev/null` would replace the device node
with a regular file. So the target must be a regular file or not exist yet, in an
existing directory; anything else is refused up front (exit 2) instead of failing after
the whole host was read, or worse, succeeding.
"""

from __future__ import annotations

import argparse
import os
import stat
from pathlib import Path

from kata_console.cli import UsageError


def path_arg(text: str) -> str:
    """argparse `type=` for a file name: not empty, no NUL byte (one-line usage error)."""
    if not text:
        raise argparse.ArgumentTypeError("an empty file name")
    if "\0" in text:
        raise argparse.ArgumentTypeError(f"{text!r}: a file name cannot contain a NUL byte")
    return text


def _what(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISLNK, "a symbolic link (give the file it points to)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def check_output_file(path: str, option: str) -> None:
    """UsageError (one line, naming `option`) unless `path` can be written as a new file."""
    if not path or "\0" in path:
        raise UsageError(f"{option}: not a file name")
    target = Path(path)
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise UsageError(f"{option} {path}: {exc.strerror}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise UsageError(f"{option} {path}: {_what(mode)}, not a file to write")
    parent = target.parent
    try:
        parent_mode = os.stat(parent).st_mode
    except FileNotFoundError:
        raise UsageError(f"{option} {path}: no such directory {parent}") from None
    except OSError as exc:
        raise UsageError(f"{option} {path}: {parent}: {exc.strerror}") from None
    if not stat.S_ISDIR(parent_mode):
        raise UsageError(f"{option} {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: cannot write in {parent}")
