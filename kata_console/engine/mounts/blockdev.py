"""Resolve what a mounted erofs reads from, by MAJ:MIN through sysfs (never by source string).

erofs-chains.md §3.4/§6 step 5: major 0 is a file-backed mount (the source string is the
file, possibly relative, a symlink, deleted or renamed); otherwise `/sys/dev/block/M:m`
says whether it is a loop (its `loop/backing_file`, validated against the inode that
`LOOP_GET_STATUS64` reports), a partition (continue with the parent disk), a device-mapper
target (follow `slaves/`) or a plain block device. A backing file on another loop or erofs
mount continues the chain under `parent` (nesting). Every kernel race becomes a status.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import posixpath
import stat as _stat

from kata_console.engine.mounts.chainmodel import (
    DELETED,
    DETACHED,
    MISSING,
    RELATIVE,
    UNRESOLVABLE,
    DeviceHop,
)
from kata_console.engine.mounts.hostmemo import MemoHost
from kata_console.engine.mounts.mounttable import Mount, MountTable
from kata_console.engine.ports import HostView

LOOP_MAJOR = 7
LO_FLAGS_READ_ONLY, LO_FLAGS_AUTOCLEAR = 1, 4
MAX_DEPTH = 8
DELETED_SUFFIX = " (deleted)"


def _majmin(dev: int) -> str:
    return f"{os.major(dev)}:{os.minor(dev)}"


class BlockResolver:
    """Resolves erofs mounts and block devices, caching per MAJ:MIN within one report."""

    def __init__(self, table: MountTable, host: HostView) -> None:
        self.table = table
        self.host = host if isinstance(host, MemoHost) else MemoHost(host)
        #: sysfs and ioctl questions: asked once per device (results are cached per MAJ:MIN),
        #: so they skip the memo; file stats go through it, Kata's verdicts reuse them
        self.sys: HostView = self.host.inner
        #: the table's erofs mounts, when the caller already has them
        self.erofs_mounts: list[Mount] | None = None
        self._block: dict[str, DeviceHop] = {}
        self._erofs_by_majmin: dict[str, Mount] | None = None
        self._holders: dict[int, DeviceHop | None] = {}

    # ----------------------------------------------------------------- erofs mounts

    def erofs_device(self, mount: Mount, depth: int = 0) -> DeviceHop:
        """The device hop (with status) for an erofs mount."""
        if mount.major == 0:
            return self._file_backed(mount, depth)
        if mount.major < 0:  # /proc/mounts: no MAJ:MIN, fall back to the source string
            return self._by_source(mount, depth)
        return self.block(mount.major, mount.minor, depth)

    def _file_backed(self, mount: Mount, depth: int) -> DeviceHop:
        src = mount.source
        hop = DeviceHop(kind="file", majmin=mount.majmin, backing_file=src)
        if not src.startswith("/"):
            hop.status = RELATIVE
            hop.reason = "file-backed source is relative to the mounter's working directory"
            return hop
        try:
            lst = self.host.lstat(src)
        except OSError as exc:
            self.host.remember("stat", src, exc)  # the same path error stat(2) would give
            hop.status = MISSING
            hop.reason = (
                f"backing file not found ({os.strerror(exc.errno or errno.ENOENT)}): deleted or "
                "renamed (a file-backed mount keeps no '(deleted)' marker) or in another namespace"
            )
            return hop
        if _stat.S_ISLNK(lst.mode):
            try:
                hop.symlink_target = self.host.realpath(src)
                st = self.host.stat(src)
            except OSError:
                hop.status = MISSING
                hop.reason = "backing file is a dangling symlink"
                return hop
        else:
            st = lst  # not a symlink: stat(2) would say the same
            self.host.remember("stat", src, lst)
        hop.inode = st.ino
        hop.backing_majmin = _majmin(st.dev)
        hop.parent = self.holder_of(st.dev, depth + 1)
        return hop

    def _by_source(self, mount: Mount, depth: int) -> DeviceHop:
        src = mount.source
        if src.startswith("/dev/"):
            try:
                st = self.host.stat(src)
            except OSError as exc:
                return DeviceHop(
                    kind="none",
                    name=src,
                    status=UNRESOLVABLE,
                    reason=f"{src}: {os.strerror(exc.errno or errno.ENOENT)}",
                )
            if _stat.S_ISBLK(st.mode):
                return self.block(os.major(st.rdev), os.minor(st.rdev), depth)
        fake = dataclasses.replace(mount, major=0, minor=0)
        hop = self._file_backed(fake, depth)
        hop.majmin = None
        return hop

    # ----------------------------------------------------------------- block devices

    def block(self, major: int, minor: int, depth: int = 0) -> DeviceHop:
        key = f"{major}:{minor}"
        hop = self._block.get(key)
        if hop is None:
            hop = self._resolve_block(major, minor, depth)
            self._block[key] = hop
        return hop

    def _resolve_block(self, major: int, minor: int, depth: int) -> DeviceHop:
        key = f"{major}:{minor}"
        try:
            sysdir = self.sys.realpath(f"/sys/dev/block/{key}")  # strict: fails when gone
        except OSError:
            return DeviceHop(
                kind="loop" if major == LOOP_MAJOR else "none",
                majmin=key,
                name=f"loop{minor}" if major == LOOP_MAJOR else None,
                status=DETACHED,
                reason=f"no block device {key} in /sys/dev/block (removed under a live mount)",
            )
        name = posixpath.basename(sysdir)
        if name.startswith("loop") and name[4:].isdigit():  # a whole loop device, never a part
            return self._loop(sysdir, name, key, depth)
        if self._exists(f"{sysdir}/partition"):
            return self._partition(sysdir, name, key, depth)
        if self._exists(f"{sysdir}/dm/name"):
            return self._dm(sysdir, name, key, depth)
        if name.startswith("loop") or major == LOOP_MAJOR:
            return self._loop(sysdir, name, key, depth)
        return DeviceHop(kind="block", name=name, majmin=key, ro=self._flag(f"{sysdir}/ro"))

    def _loop(self, sysdir: str, name: str, key: str, depth: int) -> DeviceHop:
        hop = DeviceHop(kind="loop", name=name, majmin=key)
        # /sys/block/<name> is the kernel's link to this directory: the file Kata reads.
        kata_path = f"/sys/block/{name}/loop/backing_file"
        try:
            raw = self.sys.read_text(f"{sysdir}/loop/backing_file")
        except OSError as exc:
            self.host.remember("read_text", kata_path, exc)
            hop.ro = self._flag(f"{sysdir}/ro")
            hop.status = DETACHED
            hop.reason = f"{name} is not bound to a file (detached: no {name}/loop in sysfs)"
            return hop
        self.host.remember("read_text", kata_path, raw)
        path = raw[:-1] if raw.endswith("\n") else raw  # exactly one: a path may end in \n
        if path.endswith(DELETED_SUFFIX):
            path = path[: -len(DELETED_SUFFIX)]
            hop.deleted = True
        hop.backing_file = path
        try:
            status = self.sys.loop_status(name)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                hop.status = DETACHED
                hop.reason = f"{name} was detached between two reads (ENXIO)"
                return hop
            status = None
        if status is not None:  # one ioctl answers what three sysfs files would
            hop.ro = bool(status.flags & LO_FLAGS_READ_ONLY)
            hop.autoclear = bool(status.flags & LO_FLAGS_AUTOCLEAR)
            hop.offset = status.offset
            hop.inode = status.inode
            hop.backing_majmin = _majmin(status.device)
        else:
            hop.ro = self._flag(f"{sysdir}/ro")
            hop.offset = self._int(f"{sysdir}/loop/offset")
            hop.autoclear = self._flag(f"{sysdir}/loop/autoclear")
        hop.sizelimit = self._int(f"{sysdir}/loop/sizelimit")
        if hop.deleted:
            hop.status = DELETED
            hop.reason = "backing file was deleted; the loop still holds it open" + (
                f" (inode {hop.inode} on {hop.backing_majmin})" if status else ""
            )
        else:
            self._validate_path(hop, path)
        if status is not None:
            hop.parent = self.holder_of(status.device, depth + 1)
        return hop

    def _validate_path(self, hop: DeviceHop, path: str) -> None:
        """The sysfs path is rendered in the mount namespace of the file's mount, so check it
        against the inode the loop really holds before trusting it."""
        try:
            st = self.host.stat(path)
        except OSError as exc:
            hop.status = MISSING
            hop.reason = (
                f"backing file path not found here ({os.strerror(exc.errno or errno.ENOENT)}): "
                "the path is relative to another mount namespace, or was renamed"
            )
            return
        if (
            hop.inode is not None
            and hop.backing_majmin is not None
            and (st.ino != hop.inode or _majmin(st.dev) != hop.backing_majmin)
        ):
            hop.status = UNRESOLVABLE
            hop.reason = (
                f"path names inode {st.ino} on {_majmin(st.dev)} but the loop holds inode "
                f"{hop.inode} on {hop.backing_majmin} (replaced, or another namespace's path)"
            )

    def _partition(self, sysdir: str, name: str, key: str, depth: int) -> DeviceHop:
        hop = DeviceHop(kind="partition", name=name, majmin=key, start=self._int(f"{sysdir}/start"))
        parent_dir = posixpath.dirname(sysdir)
        try:
            pmaj, _, pmin = self.sys.read_text(f"{parent_dir}/dev").strip().partition(":")
            hop.parent = self.block(int(pmaj), int(pmin), depth + 1)
        except (OSError, ValueError):
            hop.status = UNRESOLVABLE
            hop.reason = f"parent disk of partition {name} not readable"
            return hop
        hop.backing_file = hop.parent.backing_file
        hop.status, hop.reason = hop.parent.status, hop.parent.reason
        return hop

    def _dm(self, sysdir: str, name: str, key: str, depth: int) -> DeviceHop:
        hop = DeviceHop(kind="dm", name=name, majmin=key, ro=self._flag(f"{sysdir}/ro"))
        hop.dm_name = self._text(f"{sysdir}/dm/name")
        try:
            slaves = sorted(self.sys.listdir(f"{sysdir}/slaves"))
        except OSError:
            slaves = []
        for slave in slaves:
            try:
                smaj, _, smin = (
                    self.sys.read_text(f"{sysdir}/slaves/{slave}/dev").strip().partition(":")
                )
                hop.slaves.append(self.block(int(smaj), int(smin), depth + 1))
            except (OSError, ValueError):
                hop.slaves.append(
                    DeviceHop(
                        kind="none",
                        name=slave,
                        status=UNRESOLVABLE,
                        reason="slave device not readable",
                    )
                )
        for slave in hop.slaves:
            if slave.backing_file:
                hop.backing_file = slave.backing_file
                hop.deleted = slave.deleted
                hop.status, hop.reason = slave.status, slave.reason
                break
        return hop

    # ----------------------------------------------------------------- nesting

    def holder_of(self, dev: int, depth: int) -> DeviceHop | None:
        """The erofs/loop chain that holds a file living on device `dev`, or None when the file
        is on an ordinary host filesystem (the end of the chain)."""
        if depth > MAX_DEPTH:
            return None
        if dev in self._holders:
            return self._holders[dev]
        self._holders[dev] = None  # a cycle (a file holding itself) ends here
        self._holders[dev] = hop = self._holder_of(dev, depth)
        return hop

    def _holder_of(self, dev: int, depth: int) -> DeviceHop | None:
        major, minor = os.major(dev), os.minor(dev)
        if major == 0:
            mount = self._erofs_at(f"0:{minor}")
            if mount is None:
                return None
            hop = self.erofs_device(mount, depth)
            return _with_mount(hop, mount.mountpoint)
        if major == LOOP_MAJOR or self._exists(f"/sys/dev/block/{major}:{minor}/loop"):
            mounts = self.table.by_majmin(f"{major}:{minor}")
            hop = self.block(major, minor, depth)
            return _with_mount(hop, mounts[0].mountpoint if mounts else None)
        return None

    def _erofs_at(self, majmin: str) -> Mount | None:
        if self._erofs_by_majmin is None:
            erofs = self.erofs_mounts
            if erofs is None:
                erofs = self.table.of_type("erofs")
            self._erofs_by_majmin = {m.majmin: m for m in erofs if m.majmin is not None}
        return self._erofs_by_majmin.get(majmin)

    # ----------------------------------------------------------------- sysfs reads

    def _text(self, path: str) -> str | None:
        try:
            return self.sys.read_text(path).strip()
        except OSError:
            return None

    def _int(self, path: str) -> int | None:
        text = self._text(path)
        try:
            return int(text) if text is not None else None
        except ValueError:
            return None

    def _flag(self, path: str) -> bool | None:
        value = self._int(path)
        return None if value is None else value != 0

    def _exists(self, path: str) -> bool:
        try:
            self.sys.stat(path)
            return True
        except OSError:
            return False


def _with_mount(hop: DeviceHop, mountpoint: str | None) -> DeviceHop:
    """A copy of a cached hop annotated with the mountpoint of the filesystem on it."""
    return hop if mountpoint is None else dataclasses.replace(hop, mount=mountpoint)
