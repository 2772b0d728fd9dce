"""Read a file an operator gave us (a plan, a keymap, a snapshot, a mount table) safely.

Every failure is one line naming the file and saying what is wrong, so the CLI can print
it as is; `error` is the caller's exception class. The reader never hangs and never eats
memory whatever the path names: a directory, a device such as /dev/zero, or a FIFO
nobody writes to is refused or read to its (bounded) end instead of blocking forever,
and JSON nested deeper than the parser's stack is a one-line error, not a RecursionError.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from typing import Any

#: the largest input file we read: far above any real plan, snapshot or mount table
#: (a host with 100,000 mounts writes ~20 MiB of mountinfo), far below a memory problem
MAX_INPUT_BYTES = 64 * 1024 * 1024


class InputFileError(ValueError):
    """The file cannot be read as input; the text is one line that names it."""


class MissingInputFile(InputFileError):
    """Nothing at that path (or a dangling symlink): callers may word this their own way."""


def _kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_input(path: str | os.PathLike[str], what: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a regular file or a pipe (`<(...)`), at most `limit` of them.

    `what` names the expected content for the messages ("plan file", "mount table"...).
    Opened non-blocking so that a FIFO without a writer reads as empty instead of hanging
    in open(); devices are refused before the first read.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise MissingInputFile(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a directory, not a {what}") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise InputFileError(f"{path}: cannot read: {_reason(exc)}") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputFileError(f"{path}: is a directory, not a {what}")
        if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode)):
            raise InputFileError(f"{path}: {_kind(mode)}, not a {what}")
        os.set_blocking(fd, True)  # a pipe with a writer: wait for its data, then EOF
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read: {_reason(exc)}") from None
    finally:
        os.close(fd)
    if size > limit:
        raise InputFileError(f"{path}: larger than {limit // (1024 * 1024)} MiB, not a {what}")
    return b"".join(chunks)


def _reason(exc: Exception) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or os.strerror(exc.errno or errno.EIO)
    return "the path contains a NUL byte" if "null" in str(exc) else str(exc)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json(data: bytes, source: str, error: type[Exception], invalid: str) -> Any:
    """Decode UTF-8 JSON; `error(f"{source}: {invalid}: <why and where>")` if it is not.

    Python's parser accepts NaN and Infinity, which JSON (and Go) do not: refused here so
    that no NaN reaches a timeout or a device size.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{source}: {invalid}: not UTF-8 (byte {exc.start})") from None
    try:
        return json.loads(text, parse_constant=_no_constants)
    except json.JSONDecodeError as exc:
        raise error(
            f"{source}: {invalid}: {exc.msg}: line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise error(f"{source}: {invalid}: nested too deeply") from None
    except ValueError as exc:  # NaN/Infinity, or an integer of more than 4300 digits
        reason = "a number too long" if "digits" in str(exc) else str(exc)
        raise error(f"{source}: {invalid}: {reason}") from None


def load_json(
    path: str | os.PathLike[str],
    error: type[Exception],
    *,
    missing: str,
    invalid: str,
    what: str = "JSON file",
) -> Any:
    """The decoded document; `error(f"{path}: {missing}")` when the file is absent,
    `error(f"{path}: {invalid}: <where>")` when it is not JSON, and another one-line
    `error` when it is not a readable file (a directory, a device, too large)."""
    try:
        data = read_input(path, what)
    except MissingInputFile:
        raise error(f"{path}: {missing}") from None
    except InputFileError as exc:
        raise error(str(exc)) from None
    return parse_json(data, str(path), error, invalid)
