"""A mount table parsed from `/proc/<pid>/mountinfo` (primary) or `/proc/mounts` (fallback).

A busy node has tens of thousands of mounts and a console re-reads the table on every
refresh, so the table is lazy: it splits the text into lines and indexes only each
line's (still escaped) mountpoint; a line is fully parsed when something asks for it.
Malformed lines are skipped and reported in `warnings` with their line number. Well-formed
tables are checked structurally in bulk; only a table that fails that check is validated
line by line.
"""

from __future__ import annotations

import bisect
import itertools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from kata_console.engine.mounts.escapes import (
    decode_octal,
    encode_octal,
    split_options,
    split_overlay_legacy,
    unescape_overlay,
)

MOUNTINFO, PROC_MOUNTS = "mountinfo", "mounts"


class MountTableError(ValueError):
    """The text is not a mount table at all (as opposed to a few malformed lines)."""


@dataclass(slots=True)
class Mount:
    """One mount, with path fields decoded. `major`/`minor` are -1 when unknown (/proc/mounts)."""

    line_no: int
    id: int
    parent: int
    major: int
    minor: int
    root: str
    mountpoint: str
    vfs_options: str
    optional: tuple[str, ...]
    fstype: str
    source: str
    super_options: str
    _options: list[tuple[str, str | None]] | None = field(default=None, repr=False)

    @property
    def majmin(self) -> str | None:
        return None if self.major < 0 else f"{self.major}:{self.minor}"

    @property
    def options(self) -> list[tuple[str, str | None]]:
        """Super options as (key, decoded value | None), split before decoding."""
        if self._options is None:
            self._options = split_options(self.super_options)
        return self._options

    def option(self, key: str) -> str | None:
        """The last value of `key` (the kernel keeps the last), or None."""
        found = None
        for k, v in self.options:
            if k == key:
                found = v if v is not None else ""
        return found

    def has_flag(self, flag: str) -> bool:
        return flag in self.vfs_options.split(",") or any(
            k == flag and v is None for k, v in self.options
        )


@dataclass(slots=True)
class OverlayLayers:
    """An overlay's layers, top to bottom, decoded to real paths."""

    lowers: list[str]
    data: list[str]
    upper: str | None
    work: str | None


def overlay_layers(mount: Mount) -> OverlayLayers:
    """Decode `lowerdir=` (legacy escapes, `::` data layers), `lowerdir+=`, `datadir+=`,
    `upperdir=` and `workdir=` of an overlay mount (erofs-chains.md §6 step 3)."""
    lowers: list[str] = []
    data: list[str] = []
    plus_lowers: list[str] = []
    plus_data: list[str] = []
    upper = work = None
    for key, value in mount.options:
        if value is None:
            continue
        if key == "lowerdir":
            lo, da = split_overlay_legacy(value)
            lowers.extend(lo)
            data.extend(da)
        elif key == "lowerdir+":
            plus_lowers.append(value)
        elif key == "datadir+":
            plus_data.append(value)
        elif key == "upperdir":
            upper = unescape_overlay(value)
        elif key == "workdir":
            work = unescape_overlay(value)
    return OverlayLayers(lowers + plus_lowers, data + plus_data, upper, work)


def _parse_mountinfo_line(line: str, line_no: int) -> Mount:
    fields = line.split(" ")
    try:
        sep = fields.index("-", 6)
    except ValueError:
        raise ValueError("no ' - ' separator") from None
    if len(fields) < sep + 3:
        raise ValueError("missing fstype or source after ' - '")
    major, colon, minor = fields[2].partition(":")
    if not colon:
        raise ValueError(f"bad MAJ:MIN {fields[2]!r}")
    return Mount(
        line_no=line_no,
        id=int(fields[0]),
        parent=int(fields[1]),
        major=int(major),
        minor=int(minor),
        root=decode_octal(fields[3]),
        mountpoint=decode_octal(fields[4]),
        vfs_options=fields[5],
        optional=tuple(fields[6:sep]),
        fstype=decode_octal(fields[sep + 1]),
        source=decode_octal(fields[sep + 2]),
        super_options=fields[sep + 3] if len(fields) > sep + 3 else "",
    )


def _parse_mounts_line(line: str, line_no: int) -> Mount:
    fields = line.split(" ")
    if len(fields) != 6:
        raise ValueError(f"expected 6 fields, got {len(fields)}")
    return Mount(
        line_no=line_no,
        id=line_no,
        parent=0,
        major=-1,
        minor=-1,
        root="/",
        mountpoint=decode_octal(fields[1]),
        vfs_options="",
        optional=(),
        fstype=decode_octal(fields[2]),
        source=decode_octal(fields[0]),
        super_options=fields[3],
    )


def detect_format(text: str) -> str:
    """`mountinfo` or `mounts`, from the first non-empty line."""
    for line in text.split("\n", 20)[:20]:
        if not line.strip():
            continue
        fields = line.split(" ")
        if len(fields) > 6 and fields[0].isdigit() and fields[1].isdigit() and " - " in line:
            return MOUNTINFO
        if len(fields) == 6:
            return PROC_MOUNTS
        raise MountTableError(f"line 1 is neither mountinfo nor /proc/mounts: {line[:80]!r}")
    return MOUNTINFO


class MountTable:
    """Lazily parsed mount table with indexes by mountpoint, id and MAJ:MIN."""

    def __init__(self, text: str, fmt: str | None = None) -> None:
        self.format = fmt or detect_format(text)
        self.warnings: list[str] = []
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        self._lines = lines
        self._parsed: dict[int, Mount | None] = {}
        self._mp_key_index = 4 if self.format == MOUNTINFO else 1
        self._mps = self._index_mountpoints(text)
        n = len(self._mps)
        self._last = dict(zip(self._mps, range(n), strict=True))
        self._first: dict[str | None, int] | None = None
        if len(self._last) != n:  # some mountpoint appears twice: overmounts or binds
            self._first = dict(zip(reversed(self._mps), range(n - 1, -1, -1), strict=True))
        self._by_id: dict[int, int] | None = None
        self._by_majmin: dict[str, list[int]] | None = None
        self._sorted: list[str] | None = None

    # ----------------------------------------------------------------- public API

    def __len__(self) -> int:
        return len(self._lines)

    def __iter__(self) -> Iterator[Mount]:
        for i in range(len(self._lines)):
            m = self._mount(i)
            if m is not None:
                yield m

    def of_type(self, *fstypes: str) -> list[Mount]:
        """Mounts of the given filesystem types, in table order (no full parse needed)."""
        if self.format == MOUNTINFO:
            needles = [f" - {encode_octal(t)} " for t in fstypes]
            lines = self._lines
            if len(needles) == 1:
                (a,) = needles
                hits = [i for i, line in enumerate(lines) if a in line]
            elif len(needles) == 2:
                a, b = needles
                hits = [i for i, line in enumerate(lines) if a in line or b in line]
            else:
                hits = [i for i, line in enumerate(lines) if any(n in line for n in needles)]
        else:
            wanted = {encode_octal(t) for t in fstypes}
            hits = [
                i
                for i, line in enumerate(self._lines)
                if len(p := line.split(" ", 3)) > 2 and p[2] in wanted
            ]
        out = []
        for i in hits:
            m = self._mount(i)
            if m is not None and m.fstype in fstypes:
                out.append(m)
        return out

    def all_at(self, path: str) -> list[Mount]:
        """Every mount whose mountpoint is exactly `path`, in table order."""
        key = encode_octal(path)
        last = self._last.get(key)
        if last is None:
            return []
        first = self._first.get(key, last) if self._first is not None else last
        indices = [last] if first == last else [i for i, mp in enumerate(self._mps) if mp == key]
        return [m for i in indices if (m := self._mount(i)) is not None]

    def at(self, path: str) -> Mount | None:
        """The visible (topmost) mount at exactly `path`: of an overmount stack, the one
        that is not the parent of another mount at the same path."""
        found = self.all_at(path)
        if len(found) <= 1:
            return found[0] if found else None
        parents = {m.parent for m in found}
        top = [m for m in found if m.id not in parents]
        return top[-1] if top else found[-1]

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
        """The first mount in table order whose mountpoint starts with `prefix` as a string
        (Go's `strings.HasPrefix`, not path-component aware). Octal escaping is per
        character, so comparing escaped forms is exact."""
        if self._sorted is None:
            self._sorted = sorted(k for k in self._last if k is not None)
        key = encode_octal(prefix)
        best = None
        for mp in itertools.islice(self._sorted, bisect.bisect_left(self._sorted, key), None):
            if not mp.startswith(key):
                break
            i = self._first.get(mp, self._last[mp]) if self._first is not None else self._last[mp]
            if best is None or i < best:
                best = i
        return None if best is None else self._mount(best)

    def by_id(self, mount_id: int) -> Mount | None:
        if self._by_id is None:
            index: dict[int, int] = {}
            for i, line in enumerate(self._lines):
                head = line.split(" ", 1)[0]
                if head.isdigit():
                    index[int(head)] = i
            self._by_id = index
        i = self._by_id.get(mount_id)
        return None if i is None else self._mount(i)

    def by_majmin(self, majmin: str) -> list[Mount]:
        if self.format != MOUNTINFO:
            return []
        if self._by_majmin is None:
            index: dict[str, list[int]] = {}
            for i, line in enumerate(self._lines):
                parts = line.split(" ", 3)
                if len(parts) > 2:
                    index.setdefault(parts[2], []).append(i)
            self._by_majmin = index
        return [m for i in self._by_majmin.get(majmin, ()) if (m := self._mount(i)) is not None]

    # ----------------------------------------------------------------- helpers

    def _index_mountpoints(self, text: str) -> list[str | None]:
        k = self._mp_key_index
        lines = self._lines
        if self.format == MOUNTINFO and text.count(" - ") == len(lines):
            try:
                return [line.split(" ", 5)[4] for line in lines]
            except IndexError:
                pass
        # Slow path: validate every line so each malformed one is reported.
        mps: list[str | None] = []
        for i, line in enumerate(lines):
            m = self._mount_from_line(i, line)
            mps.append(None if m is None else line.split(" ", k + 1)[k])
        return mps

    def _mount(self, i: int) -> Mount | None:
        try:
            return self._parsed[i]
        except KeyError:
            return self._mount_from_line(i, self._lines[i])

    def _mount_from_line(self, i: int, line: str) -> Mount | None:
        if i in self._parsed:
            return self._parsed[i]
        parse = _parse_mountinfo_line if self.format == MOUNTINFO else _parse_mounts_line
        try:
            m: Mount | None = parse(line, i + 1)
        except ValueError as exc:
            shown = line if len(line) <= 120 else line[:117] + "..."
            self.warnings.append(
                f"line {i + 1}: malformed {self.format} line skipped ({exc}): {shown!r}"
            )
            m = None
        self._parsed[i] = m
        return m


def mounts_text(mounts: Iterable[Mount]) -> str:
    """Render mounts back to mountinfo lines (fixtures and tests)."""
    out = []
    for m in mounts:
        opt = " ".join(m.optional)
        out.append(
            " ".join(
                x
                for x in (
                    str(m.id),
                    str(m.parent),
                    f"{m.major}:{m.minor}",
                    encode_octal(m.root),
                    encode_octal(m.mountpoint),
                    m.vfs_options,
                    opt,
                    "-",
                    encode_octal(m.fstype),
                    encode_octal(m.source),
                    m.super_options,
                )
                if x != ""
            )
        )
    return "\n".join(out) + "\n"
