"""A mount table parsed from `/proc/<pid>/mountinfo` (primary) or `/proc/mounts` (fallback).

The table is read as the kernel wrote it: bytes, split on `\\n` only (the kernel escapes
space, tab, newline and backslash in paths but not `\\r` or any other byte), with every
path decoded to `str` through `surrogateescape` so that invalid UTF-8 survives.

A busy node has tens of thousands of mounts and a console re-reads the table on every
refresh, so the table is lazy: it splits the lines and, on the first lookup, indexes each
line's decoded mountpoint; a line is fully parsed when something asks for it. Every line
is checked against the rules libmount and moby apply (`linecheck`): a malformed line is
never found by a lookup, and `warnings` names each one with its line number (the complete
check of the lines nobody asked for runs when `warnings` is first read).
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator
from itertools import accumulate

from kata_console.engine.mounts.escapes import decode_octal_bytes, encode_octal
from kata_console.engine.mounts.linecheck import (
    MOUNTINFO,
    PROC_MOUNTS,
    MountTableError,
    bad_lines,
    detect_format,
    line_ok,
    line_problem,
)
from kata_console.engine.mounts.mount import (
    Mount,
    OverlayLayers,
    mounts_text,
    overlay_layers,
    parse_mountinfo,
    parse_mounts,
    top_of,
)

__all__ = [
    "MOUNTINFO",
    "PROC_MOUNTS",
    "Mount",
    "MountTable",
    "MountTableError",
    "OverlayLayers",
    "detect_format",
    "mounts_text",
    "overlay_layers",
    "top_of",
]

_SE = "surrogateescape"


def _key(path: str) -> bytes:
    """The index key of a decoded path: its bytes (surrogates back to the bytes they were)."""
    return path.encode("utf-8", _SE)


class MountTable:
    """Lazily parsed mount table with indexes by decoded mountpoint, id and MAJ:MIN."""

    def __init__(self, text: str | bytes, fmt: str | None = None) -> None:
        raw = text if isinstance(text, bytes) else text.encode("utf-8", _SE)
        lines = raw.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        self._raw = raw
        self._lines = lines
        self._starts: list[int] | None = None
        self.format = fmt or detect_format(lines)
        self._has_ids = self.format == MOUNTINFO
        self._parsed: dict[int, Mount | None] = {}
        self._problems: dict[int, str] = {}
        self._checked = False
        self._keys: list[bytes | None] | None = None
        self._last: dict[bytes | None, int] = {}
        self._first: dict[bytes | None, int] | None = None
        self._by_id: dict[int, int] | None = None
        self._by_majmin: dict[bytes, list[int]] | None = None
        self._sorted: list[bytes] | None = None

    # ----------------------------------------------------------------- public API

    @property
    def has_ids(self) -> bool:
        """False for `/proc/mounts`: no mount ids, no parent ids, no MAJ:MIN."""
        return self._has_ids

    @property
    def warnings(self) -> list[str]:
        """One line per malformed line, in line order (checks every line once)."""
        self._check_all()
        return [self._warning(i) for i in sorted(self._problems)]

    def __len__(self) -> int:
        return len(self._lines)

    def __iter__(self) -> Iterator[Mount]:
        for i in range(len(self._lines)):
            m = self._mount(i)
            if m is not None:
                yield m

    def of_type(self, *fstypes: str) -> list[Mount]:
        """Mounts of the given filesystem types, in table order (no full parse needed)."""
        lines = self._lines
        if self.format == MOUNTINFO:
            hits = self._lines_with([b" - " + _key(encode_octal(t)) + b" " for t in fstypes])
        else:
            wanted = {_key(encode_octal(t)) for t in fstypes}
            hits = [
                i
                for i, line in enumerate(lines)
                if len(p := line.split(b" ", 3)) > 2 and p[2] in wanted
            ]
        out = []
        for i in hits:
            m = self._mount(i)
            if m is not None and m.fstype in fstypes:
                out.append(m)
        return out

    def all_at(self, path: str) -> list[Mount]:
        """Every mount whose decoded mountpoint is exactly `path`, in table order."""
        key = path.encode("utf-8", _SE)
        last = (self._last if self._keys is not None else self._index()).get(key)
        if last is None:
            return []
        first = self._first.get(key, last) if self._first is not None else last
        if first == last:
            indices = [last]
        else:
            keys = self._keys or []
            indices = [i for i in range(first, last + 1) if keys[i] == key]
        return [m for i in indices if (m := self._mount(i)) is not None]

    def at(self, path: str) -> Mount | None:
        """The visible (topmost) mount at exactly `path`: of an overmount stack, the one
        that is not the parent of another mount at the same path (the last one when the
        table has no ids)."""
        return top_of(self.all_at(path))

    def containing(self, path: str) -> tuple[Mount | None, str]:
        """The visible mount that holds `path` (longest mountpoint prefix on a `/` boundary)
        and the sub-path inside it (`""` when `path` is the mountpoint itself)."""
        probe = os.path.normpath(path) if path else path
        sub: list[str] = []
        while True:
            m = self.at(probe)
            if m is not None:
                return m, "/".join(reversed(sub))
            if probe in ("/", "", "."):
                return None, ""
            head, tail = os.path.split(probe)
            sub.append(tail)
            if head == probe:
                return None, ""
            probe = head

    def first_with_prefix(self, prefix: str) -> Mount | None:
        """The first mount in table order whose decoded mountpoint starts with `prefix` as a
        string (Go's `strings.HasPrefix`, not path-component aware)."""
        index = self._index()
        if self._sorted is None:
            self._sorted = sorted(filter(None, index))  # no malformed (None) keys
        key = _key(prefix)
        keys = self._sorted
        best = None
        for i in range(bisect.bisect_left(keys, key), len(keys)):
            mp = keys[i]
            if not mp.startswith(key):
                break
            j = self._first.get(mp, index[mp]) if self._first is not None else index[mp]
            if best is None or j < best:
                best = j
        return None if best is None else self._mount(best)

    def by_id(self, mount_id: int) -> Mount | None:
        if not self._has_ids:
            return None
        if self._by_id is None:
            index: dict[int, int] = {}
            for i, line in enumerate(self._lines):
                head = line.split(b" ", 1)[0]
                if head.isdigit():
                    index[int(head)] = i
            self._by_id = index
        i = self._by_id.get(mount_id)
        return None if i is None else self._mount(i)

    def by_majmin(self, majmin: str) -> list[Mount]:
        if not self._has_ids:
            return []
        if self._by_majmin is None:
            index: dict[bytes, list[int]] = {}
            for i, line in enumerate(self._lines):
                parts = line.split(b" ", 3)
                if len(parts) > 2:
                    index.setdefault(parts[2], []).append(i)
            self._by_majmin = index
        found = self._by_majmin.get(majmin.encode("ascii", _SE), ())
        return [m for i in found if (m := self._mount(i)) is not None]

    # ----------------------------------------------------------------- helpers

    def _lines_with(self, needles: list[bytes]) -> list[int]:
        """Indexes of the lines containing any needle: searched in the whole text (in C),
        then mapped to lines through their start offsets."""
        if self._starts is None:
            self._starts = list(accumulate(map((1).__add__, map(len, self._lines)), initial=0))
        raw, starts, hits = self._raw, self._starts, set()
        for needle in needles:
            at = raw.find(needle)
            while at >= 0:
                i = bisect.bisect_right(starts, at) - 1
                hits.add(i)
                at = raw.find(needle, starts[i + 1] if i + 1 < len(starts) else len(raw))
        return sorted(hits)

    def _index(self) -> dict[bytes | None, int]:
        """Decoded mountpoint -> index of its last line (built on the first lookup)."""
        if self._keys is not None:
            return self._last
        k = 4 if self.format == MOUNTINFO else 1
        lines = self._lines
        try:
            keys: list[bytes | None] = [line.split(b" ", k + 1)[k] for line in lines]
        except IndexError:  # a short (malformed) line: never found by a lookup
            keys = [p[k] if len(p := line.split(b" ", k + 1)) > k else None for line in lines]
        if b"\\" in self._raw:  # only then can a key hold an escape
            for i, key in enumerate(keys):
                if key is not None and b"\\" in key:
                    keys[i] = decode_octal_bytes(key)
        self._keys = keys
        n = len(keys)
        self._last = dict(zip(keys, range(n), strict=True))
        if len(self._last) != n:  # some mountpoint appears twice: overmounts or binds
            self._first = dict(zip(reversed(keys), range(n - 1, -1, -1), strict=True))
        return self._last

    def _mount(self, i: int) -> Mount | None:
        try:
            return self._parsed[i]
        except KeyError:
            pass
        line = self._lines[i]
        m: Mount | None = None
        if (i not in self._problems) if self._checked else line_ok(self.format, line):
            parse = parse_mountinfo if self.format == MOUNTINFO else parse_mounts
            m = parse(line, i + 1)
        else:
            self._problems[i] = line_problem(self.format, line)
        self._parsed[i] = m
        return m

    def check(self) -> None:
        """Check every line now (a caller that will read `warnings` anyway saves the per-line
        check of each line it parses later)."""
        self._check_all()

    def _check_all(self) -> None:
        """Check every line (one regex per line, run in C; no parsing)."""
        if self._checked:
            return
        self._checked = True
        for i in bad_lines(self.format, self._lines):
            if i not in self._problems:
                self._problems[i] = line_problem(self.format, self._lines[i])

    def _warning(self, i: int) -> str:
        shown = self._lines[i].decode("utf-8", _SE)
        if len(shown) > 120:
            shown = shown[:117] + "..."
        return (
            f"line {i + 1}: malformed {self.format} line skipped ({self._problems[i]}): {shown!r}"
        )
