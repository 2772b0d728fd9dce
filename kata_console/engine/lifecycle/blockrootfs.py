"""Rootfs on a block device: Go's `getDeviceForPath`, `isBlockDevice` and
`GetDevicePathAndFsTypeOptions` (kata-engine.md §2.5), answered through a `HostView`.

`hotplugDrive` uses these to decide whether a container's rootfs sits on a host block
device that can be hot-plugged whole (devicemapper-style snapshotters) instead of being
shared over virtio-fs. Overlay rootfs live on an anonymous device (major 0) that has no
`/sys/dev/block` entry, so they are skipped, exactly as in Go.
"""

from __future__ import annotations

import os
import posixpath
import stat as _stat
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kata_console.engine import errors as E
from kata_console.engine.deviceinfo import DeviceInfo
from kata_console.engine.gofmt import go_quote
from kata_console.engine.lifecycle.guest import KATA_GUEST_SHARED_DIR
from kata_console.engine.mounts.mounttable import MountTable
from kata_console.engine.mounts.rootfs import go_errno_text
from kata_console.engine.ports import HostView

if TYPE_CHECKING:
    from kata_console.engine.lifecycle.container import Container


class MountPointNotFound(E.EngineError):
    """Go `errMountPointNotFound`: the rootfs is not on its own mount; share it instead."""

    def __init__(self) -> None:
        super().__init__(E.MOUNT_POINT_NOT_FOUND)


@dataclass(frozen=True, slots=True)
class HostDevice:
    major: int
    minor: int
    mount_point: str


def _go_major(dev: int) -> int:
    return (dev >> 8) & 0xFFF


def _go_minor(dev: int) -> int:
    return (dev & 0xFF) | ((dev >> 12) & 0xFFF00)


def _is_host_device(host: HostView, path: str) -> bool:
    if path == "/dev":
        return True
    if path.startswith("/dev/"):
        return not _stat.S_ISREG(host.stat(path).mode)
    return False


def get_device_for_path(host: HostView, path: str) -> HostDevice:
    """Go `getDeviceForPath`: the device holding `path` and the mount point it starts at
    (walking up with lstat until the device id changes)."""
    if not path:
        raise E.EngineError(E.PATH_EMPTY)
    try:
        st = host.stat(path)
        if _is_host_device(host, path):
            return HostDevice(_go_major(st.rdev), _go_minor(st.rdev), "")
        dev = st.dev
        path = posixpath.normpath(
            path if path.startswith("/") else posixpath.join(os.getcwd(), path)
        )
        mount_point = path
        if path == "/":
            return HostDevice(_go_major(dev), _go_minor(dev), "/")
        while True:
            if mount_point == "/":
                raise MountPointNotFound()
            parent = posixpath.dirname(path)
            if host.lstat(parent).dev != dev:
                break
            mount_point = path = parent
    except OSError as exc:
        # Go's syscall.Stat/Lstat return the bare errno: its text is all the error says.
        raise E.EngineError(go_errno_text(exc)) from exc
    return HostDevice(_go_major(dev), _go_minor(dev), mount_point)


def is_block_device(host: HostView, major: int, minor: int) -> bool:
    """Go `isBlockDevice`: `/sys/dev/block/<maj>:<min>` exists."""
    try:
        host.stat(f"/sys/dev/block/{major}:{minor}")
    except OSError:
        return False
    return True


def device_path_and_fstype(host: HostView, mount_point: str) -> tuple[str, str, list[str]]:
    """Go `GetDevicePathAndFsTypeOptions`: source, fstype and options of the first mount at
    `mount_point`. Read from the mount table of the inspected namespace (decoded)."""
    if not mount_point:
        raise E.EngineError(E.MOUNT_POINT_EMPTY)
    table = MountTable(host.read_mountinfo())
    found = table.all_at(mount_point)
    if not found:
        raise E.EngineError(E.MOUNT_NOT_FOUND % mount_point)
    m = found[0]
    return m.source, m.fstype, m.super_options.split(",") if m.super_options else []


async def hotplug_drive(c: Container) -> None:
    """Go `hotplugDrive`: plug the rootfs's block device, when it has one."""
    host = c.sandbox.host
    if host is None:
        c.log("debug", "no host view: block rootfs detection skipped")
        return
    rootfs = c.rootfs
    try:
        dev = get_device_for_path(host, rootfs.target if rootfs.mounted else rootfs.source)
    except MountPointNotFound:
        return
    c.log(
        "info",
        "device details",
        **{"device-major": dev.major, "device-minor": dev.minor, "mount-point": dev.mount_point},
    )
    if not is_block_device(host, dev.major, dev.minor):
        return
    device_path, fstype = rootfs.source, rootfs.type
    if rootfs.mounted:
        device_path, fstype, _ = device_path_and_fstype(host, dev.mount_point)
    try:
        device_path = host.realpath(device_path)
    except OSError as exc:
        raise E.EngineError(f"lstat {device_path}: {go_errno_text(exc)}") from exc
    c.log("info", "Block device detected", **{"device-path": device_path, "fs-type": fstype})
    await _plug_device(c, device_path)
    c.fstype = fstype
    c.touch()


async def _plug_device(c: Container, device_path: str) -> None:
    host = c.sandbox.host
    assert host is not None
    try:
        st = host.stat(device_path)
    except OSError as exc:
        raise E.EngineError(E.STAT_FAILED % (go_quote(device_path), go_errno_text(exc))) from exc
    if not _stat.S_ISBLK(st.mode):
        return
    info = DeviceInfo(
        device_path, f"{KATA_GUEST_SHARED_DIR}/{c.id}", "b", os.major(st.rdev), os.minor(st.rdev)
    )
    try:
        dev = c.sandbox.devices.new_device(info)
    except E.EngineError as exc:
        raise E.EngineError(E.ROOTFS_DEVICE % (go_quote(device_path), exc)) from exc
    c.block_device_id = dev.id
    try:
        await c.sandbox.devices.attach_device(dev.id, c.sandbox)
    except BaseException:
        # Deliberate fix: Go leaks this reference (removeDrive skips a drive whose fstype
        # was never set), which keeps the device in the manager forever.
        c.sandbox.devices.remove_device(dev.id)
        c.block_device_id = ""
        raise
