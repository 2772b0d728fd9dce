"""One mount of a mount table, parsed from a line known to be well formed.

`Mount` is what every consumer reads (paths decoded to `str` with surrogateescape); the
parsers here run only for lines `linecheck` accepted, and only for the lines something
asks for (see `mounttable`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kata_console.engine.mounts.escapes import (
    decode_path,
    encode_octal,
    split_options,
    split_overlay_legacy,
    unescape_overlay,
)

_SE = "surrogateescape"


@dataclass(slots=True)
class Mount:
    """One mount, with path fields decoded.

    `/proc/mounts` has no mount ids and no MAJ:MIN: there `id`/`parent` are None and
    `major`/`minor` are -1 (`majmin` None); `line_no` is the identity within the table.
    """

    line_no: int
    id: int | None
    parent: int | None
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


def parse_mountinfo(line: bytes, line_no: int) -> Mount:
    """A line already known to be valid (`line_ok`): the first lone `-` from field 7 on is
    the separator, as libmount takes it. (Runs for every overlay and erofs line: kept lean.)"""
    f = line.split(b" ")
    sep = f.index(b"-", 6)
    major, _, minor = f[2].partition(b":")
    if b"\\" in line:
        root, mountpoint, fstype, source = (
            decode_path(f[3]),
            decode_path(f[4]),
            decode_path(f[sep + 1]),
            decode_path(f[sep + 2]),
        )
    else:
        root, mountpoint, fstype, source = (
            f[3].decode("utf-8", _SE),
            f[4].decode("utf-8", _SE),
            f[sep + 1].decode("utf-8", _SE),
            f[sep + 2].decode("utf-8", _SE),
        )
    return Mount(
        line_no,
        int(f[0]),
        int(f[1]),
        int(major),
        int(minor),
        root,
        mountpoint,
        f[5].decode("utf-8", _SE),
        tuple([x.decode("utf-8", _SE) for x in f[6:sep]]) if sep > 6 else (),
        fstype,
        source,
        f[sep + 3].decode("utf-8", _SE),
    )


def parse_mounts(line: bytes, line_no: int) -> Mount:
    f = line.split(b" ")
    return Mount(
        line_no=line_no,
        id=None,
        parent=None,
        major=-1,
        minor=-1,
        root="/",
        mountpoint=decode_path(f[1]),
        vfs_options="",
        optional=(),
        fstype=decode_path(f[2]),
        source=decode_path(f[0]),
        super_options=f[3].decode("utf-8", _SE),
    )


def top_of(found: list[Mount]) -> Mount | None:
    """The visible mount of those at one mountpoint (table order): the one no other mount
    there is stacked on. Without ids (/proc/mounts) the last one was mounted last."""
    if len(found) <= 1:
        return found[0] if found else None
    if found[0].id is None:
        return found[-1]
    parents = {m.parent for m in found}
    top = [m for m in found if m.id not in parents]
    return top[-1] if top else found[-1]


def mounts_text(mounts: Iterable[Mount]) -> str:
    """Render mounts back to mountinfo lines (fixtures and tests)."""
    out = []
    for m in mounts:
        opt = " ".join(m.optional)
        out.append(
            " ".join(
                x
                for x in (
                    str(m.id if m.id is not None else m.line_no),
                    str(m.parent if m.parent is not None else 0),
                    f"{max(m.major, 0)}:{max(m.minor, 0)}",
                    encode_octal(m.root),
                    encode_octal(m.mountpoint),
                    m.vfs_options or "rw",
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
