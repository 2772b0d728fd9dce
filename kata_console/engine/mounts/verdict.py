"""Kata's verdict per layer, derived from what the resolution already learned.

`rootfs.py` holds Kata's rules (Go `createErofsDevices`, byte-exact). Running them again
per layer would repeat every lookup the resolver just made; instead the verdict is derived
from the same answers: the mounts at the lowerdir (already looked up), the backing file of
a `/dev/loopN` source (already read through sysfs) and the stat of the layer file (already
asked, remembered in the report's `MemoHost`). Whenever an answer Go would need is not
among them (a lowerdir with `:` in it, a loop named differently than its source, a stat
nobody asked), the rules themselves run. tests/test_verdicts.py checks that both agree on
many tables.
"""

from __future__ import annotations

from kata_console.engine.mounts.hostmemo import MISS, MemoHost
from kata_console.engine.mounts.mounttable import Mount, MountTable
from kata_console.engine.mounts.rootfs import (
    LAYER_BASENAME,
    RootfsError,
    create_device_info,
    device_error,
    go_base,
    go_path_error,
    kata_backing_path,
    layer_source,
    upper_source,
)


class KataVerdicts:
    """Kata's error text (or None) for each lowerdir and upperdir of one report."""

    def __init__(self, table: MountTable, host: MemoHost) -> None:
        self.table = table
        self.host = host
        self._lowers: dict[str, str | None] = {}  # overlays of one image share their lowers

    def lower_error(self, path: str, found: list[Mount] | None = None) -> str | None:
        """What `createErofsDevices` fails with for lowerdir `path` (None: accepted).
        `found` are the mounts at exactly `path`, when the caller has looked them up."""
        try:
            return self._lowers[path]
        except KeyError:
            error = self._lowers[path] = self._lower_error(path, found)
            return error

    def _lower_error(self, path: str, found: list[Mount] | None) -> str | None:
        if ":" in path:  # Go splits lowerdir= on every ':': several lookups
            return self.rules_lower(path)
        if found is None:
            found = self.table.all_at(path)
        for mount in found:  # Go takes the first erofs mount at exactly this path
            if mount.fstype == "erofs":
                break
        else:
            return f"erofs mount not found for {path}"
        source = mount.source
        if source.startswith("/dev/loop"):
            sysfs = kata_backing_path(source)
            text = self.host.peek("read_text", sysfs)
            if text is MISS:
                return self.rules_lower(path)
            if isinstance(text, OSError):
                return go_path_error("open", sysfs, text)
            source = text.removesuffix("\n")
        if go_base(source) != LAYER_BASENAME:
            return f"unsupported mount source {source} for {path}"
        st = self.host.peek("stat", source)
        if st is MISS:
            return self.rules_lower(path)
        return device_error(source, st)

    def rules_lower(self, path: str) -> str | None:
        """Kata's rules run as Go runs them, each `:`-separated piece in turn."""
        try:
            for piece in path.split(":"):
                create_device_info(self.host, layer_source(self.table, self.host, piece), True)
        except RootfsError as exc:
            return str(exc)
        return None

    def upper_error(self, upper: str) -> str | None:
        """What Kata fails with for the upperdir (its rules: a string-prefix mount lookup)."""
        try:
            source = upper_source(self.table, self.host, upper)
            if source is not None:
                create_device_info(self.host, source, False)
        except RootfsError as exc:
            return str(exc)
        return None
