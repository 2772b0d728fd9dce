"""Which lines of a mount table are well formed, by the rules libmount and moby apply.

A mountinfo line is `ID PARENT MAJ:MIN ROOT MOUNTPOINT VFS-OPTIONS [OPTIONAL...] - FSTYPE
SOURCE SUPER-OPTIONS`, fields separated by single spaces (the kernel escapes spaces inside
fields). Following libmount (`mnt_parse_mountinfo_line`) and moby (`GetMountsFromReader`):

* at least 10 fields; ID and PARENT are decimal numbers; MAJ:MIN is two numbers;
* ROOT, MOUNTPOINT and VFS-OPTIONS are not empty;
* the separator is the first lone `-` from the 7th field on, and FSTYPE, SOURCE and
  SUPER-OPTIONS follow it; SOURCE may be empty (kernels before 5.1 wrote `tmpfs  rw`),
  FSTYPE and SUPER-OPTIONS may not; fields after SUPER-OPTIONS are ignored (both do).

A `/proc/mounts` line is `SOURCE TARGET FSTYPE OPTIONS FREQ PASSNO`: six fields, the last
two numbers. Where libmount and moby disagree, the stricter rule holds (libmount refuses
empty ROOT/MOUNTPOINT/VFS-OPTIONS/SUPER-OPTIONS and non-numeric ids; moby accepts them as
0). Lines keep a trailing `\\r` (both libraries drop it): the kernel never writes one at
the end of a line except as part of a path or option.

Each rule exists twice, as one compiled regular expression (the fast check, run on every
line in C) and as `line_problem` (the reason shown to the operator); a property test keeps
the two in agreement.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MOUNTINFO, PROC_MOUNTS = "mountinfo", "mounts"

#: lines looked at to tell mountinfo from /proc/mounts before looking any further
DETECT_WINDOW = 64

_MOUNTINFO = re.compile(
    rb"[0-9]+ [0-9]+ [0-9]+:[0-9]+ [^ ]+ [^ ]+ [^ ]+"  # ID PARENT MAJ:MIN ROOT MOUNTPOINT VFS
    rb"(?: (?:[^ -][^ ]*|-[^ ]+|))*"  # optional fields: anything but a lone "-"
    rb" - [^ ]+ [^ ]* [^ ].*",  # separator, FSTYPE, SOURCE (may be empty), SUPER-OPTIONS
    re.DOTALL,
)
_MOUNTS = re.compile(rb"[^ ]* [^ ]+ [^ ]+ [^ ]+ [0-9]+ [0-9]+")
_RULES = {MOUNTINFO: _MOUNTINFO, PROC_MOUNTS: _MOUNTS}


class MountTableError(ValueError):
    """The text is not a mount table at all (as opposed to a few malformed lines)."""


def line_ok(fmt: str, line: bytes) -> bool:
    """Whether `line` (no `\\n`) is a well-formed line of format `fmt`."""
    return _RULES[fmt].fullmatch(line) is not None


def bad_lines(fmt: str, lines: Sequence[bytes]) -> list[int]:
    """Indexes of the malformed lines. The common all-good case is one pass in C."""
    check = _RULES[fmt].fullmatch
    if all(map(check, lines)):
        return []
    return [i for i, m in enumerate(map(check, lines)) if m is None]


def line_problem(fmt: str, line: bytes) -> str:
    """Why a line is malformed, in words (only called for lines `line_ok` refused)."""
    fields = line.split(b" ")
    if fmt == PROC_MOUNTS:
        if len(fields) != 6:
            return f"{len(fields)} fields, 6 expected"
        if not all(fields[1:4]):
            return "empty target, fstype or options"
        return "dump frequency and fsck pass are not numbers"
    n = len(fields)
    if n < 10:
        return f"{n} fields, at least 10 expected"
    if not fields[0].isdigit():
        return f"mount id {_show(fields[0])} is not a number"
    if not fields[1].isdigit():
        return f"parent id {_show(fields[1])} is not a number"
    major, colon, minor = fields[2].partition(b":")
    if not (colon and major.isdigit() and minor.isdigit()):
        return f"MAJ:MIN {_show(fields[2])} is not two numbers"
    for name, value in (("root", fields[3]), ("mountpoint", fields[4]), ("options", fields[5])):
        if not value:
            return f"empty {name} field"
    sep = next((i for i in range(6, n) if fields[i] == b"-"), None)
    if sep is None:
        return "no ' - ' separator after the optional fields"
    if n < sep + 4:
        return "fstype, source and super options must follow ' - '"
    if not fields[sep + 1]:
        return "empty fstype"
    return "empty super options"


def _show(raw: bytes) -> str:
    return repr(raw.decode("utf-8", "surrogateescape"))


def detect_format(text: str | bytes | Sequence[bytes]) -> str:
    """`mountinfo` or `mounts`: the format most of the first non-empty lines have (a garbage
    first line does not decide); when none of them is well formed, the first well-formed line
    further down decides. An empty table is mountinfo; a text with no well-formed line at all
    is not a mount table."""
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogateescape")
    lines = text.split(b"\n") if isinstance(text, bytes) else text
    seen = counted = 0
    votes = {MOUNTINFO: 0, PROC_MOUNTS: 0}
    first_bad: tuple[int, bytes] | None = None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        seen += 1
        fmt = _which(line)
        if fmt is None:
            first_bad = first_bad or (n, line)
        else:
            votes[fmt] += 1
            counted += 1
        if counted and seen >= DETECT_WINDOW:
            break
    if counted:
        return MOUNTINFO if votes[MOUNTINFO] >= votes[PROC_MOUNTS] else PROC_MOUNTS
    if first_bad is None:
        return MOUNTINFO
    n, line = first_bad
    shown = line[:80].decode("utf-8", "surrogateescape")
    raise MountTableError(f"no line is a mountinfo or /proc/mounts line (line {n}: {shown!r})")


def _which(line: bytes) -> str | None:
    if _MOUNTINFO.fullmatch(line):
        return MOUNTINFO
    if _MOUNTS.fullmatch(line):
        return PROC_MOUNTS
    return None
