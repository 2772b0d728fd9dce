"""EROFS rootfs handling exactly as Kata's Go runtime does it (seed `createErofsDevices`).

This module deliberately mirrors Go, quirks included, because operators compare its
verdict with what the shim did: `lowerdir=` is split on every `:` (no `\\:` handling), the
erofs mount is found by exact mountpoint and the *source string*, a `/dev/loop*` source is
replaced by `/sys/block/loopN/loop/backing_file`, and the basename must be `layer.erofs`.
Error texts are byte-exact with Go. Mountpoints and sources are compared decoded, as the
current runtime's `moby/sys/mountinfo` does (the seed read `/proc/mounts` undecoded, so a
lowerdir containing a space could never match there).

`kata_console.engine.mounts.chains` is the operator's view (resolution by MAJ:MIN, every hop
explained); this module is the runtime's view (the first error wins).
"""

from __future__ import annotations

import errno as _errno
import os
import posixpath
import stat as _stat
from dataclasses import dataclass, field

from kata_console.engine.deviceinfo import FILE_BACKED_MAJOR, DeviceInfo
from kata_console.engine.gofmt import go_quote
from kata_console.engine.mounts.mounttable import MountTable
from kata_console.engine.ports import FileStat, HostView

EROFS_SNAPSHOTTER = "io.containerd.snapshotter.v1.erofs"
EROFS_SUPER_MAGIC_V1 = 0xE0F5E1E2
LAYER_BASENAME = "layer.erofs"
RWLAYER_BASENAME = "rwlayer.img"


class RootfsError(Exception):
    """A rootfs the runtime refuses; `str()` is the Go error text, byte for byte."""


@dataclass(slots=True)
class RootFs:
    """Go `RootFs`: what containerd passed for the container's root filesystem."""

    source: str = ""
    type: str = ""
    options: list[str] = field(default_factory=list)
    target: str = ""
    mounted: bool = False


# Go's syscall.Errno strings differ from strerror(3) in case and, for a few, in wording.
_GO_ERRNO = {
    _errno.ENOENT: "no such file or directory",
    _errno.ENXIO: "no such device or address",
    _errno.EACCES: "permission denied",
    _errno.EPERM: "operation not permitted",
    _errno.ENOTDIR: "not a directory",
    _errno.EIO: "input/output error",
    _errno.ELOOP: "too many levels of symbolic links",
    _errno.ENAMETOOLONG: "file name too long",
}


def go_errno_text(exc: OSError) -> str:
    """The text Go prints for an errno (`syscall.Errno.Error()`)."""
    if exc.errno in _GO_ERRNO:
        return _GO_ERRNO[exc.errno]
    text = os.strerror(exc.errno) if exc.errno else str(exc)
    return text[:1].lower() + text[1:]


def go_path_error(op: str, path: str, exc: OSError) -> str:
    """Go's `*fs.PathError` text, e.g. `open /sys/...: no such file or directory`."""
    return f"{op} {path}: {go_errno_text(exc)}"


def parse_erofs_rootfs_options(options: list[str]) -> tuple[list[str], str]:
    """Go `parseErofsRootFsOptions`: every `lowerdir=` split on every `:`; last `upperdir=` wins."""
    lowerdirs: list[str] = []
    upperdir = ""
    for opt in options:
        if opt.startswith("lowerdir="):
            lowerdirs.extend(opt[len("lowerdir=") :].split(":"))
        elif opt.startswith("upperdir="):
            upperdir = opt[len("upperdir=") :]
    return lowerdirs, upperdir


def is_erofs_rootfs(rootfs: RootFs, host: HostView) -> bool:
    """Go `IsErofsRootFS`: an overlay whose lower/upper dirs belong to the EROFS snapshotter,
    by path or by filesystem magic (needed for 2.2+ mount-manager paths)."""
    if rootfs.type != "overlay":
        return False
    lowerdirs, upperdir = parse_erofs_rootfs_options(rootfs.options)
    for path in [*lowerdirs, upperdir]:
        if EROFS_SNAPSHOTTER in path:
            return True
        try:
            if host.statfs_type(path) == EROFS_SUPER_MAGIC_V1:
                return True
        except OSError:
            continue
    return False


def kata_backing_path(source: str) -> str:
    """The sysfs file Go reads for a `/dev/loop...` source (by the source string, not MAJ:MIN)."""
    return f"/sys/block/loop{source[len('/dev/loop') :]}/loop/backing_file"


def _loop_backing_file(host: HostView, source: str) -> str:
    """Go: `/dev/loopN` -> content of `/sys/block/loopN/loop/backing_file`, `\\n` trimmed."""
    path = kata_backing_path(source)
    try:
        text = host.read_text(path)
    except OSError as exc:
        raise RootfsError(go_path_error("open", path, exc)) from exc
    return text.removesuffix("\n")


def create_device_info(host: HostView, source: str, read_only: bool) -> DeviceInfo:
    """Go `createDeviceInfo(source, source, readonly, isBlockFile=true)`."""
    try:
        st: FileStat | OSError = host.stat(source)
    except OSError as exc:
        st = exc
    return device_info_for(source, st, read_only)


def device_info_for(source: str, st: FileStat | OSError, read_only: bool) -> DeviceInfo:
    """The DeviceInfo (or Go's error) for `source` given what `stat(source)` answered; shared
    by the rules above and by the resolver, which already has that answer."""
    error = device_error(source, st)
    if error is not None:
        raise RootfsError(error) from (st if isinstance(st, OSError) else None)
    assert not isinstance(st, OSError)
    if _stat.S_ISBLK(st.mode):
        return DeviceInfo(source, source, "b", os.major(st.rdev), os.minor(st.rdev), read_only)
    return DeviceInfo(source, source, "b", FILE_BACKED_MAJOR, 0, read_only)


def device_error(source: str, st: FileStat | OSError) -> str | None:
    """Go's error for a layer file, given what `stat(source)` answered (None: usable)."""
    if isinstance(st, OSError):
        return f"stat {go_quote(source)} failed: {go_errno_text(st)}"
    if _stat.S_ISBLK(st.mode) or _stat.S_ISREG(st.mode):
        return None
    # Go falls through to PmemDeviceInfo, which fails for anything that is not a pmem file.
    return f"unsupported device type for {source}"


def go_clean(path: str) -> str:
    """Go `filepath.Clean` (lexical; unlike POSIX normpath, `//a` becomes `/a`)."""
    cleaned = posixpath.normpath(path) if path else "."
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def go_base(path: str) -> str:
    """Go `filepath.Base`: trailing slashes ignored, `.` for "", `/` for all slashes."""
    if path == "":
        return "."
    stripped = path.rstrip("/")
    if stripped == "":
        return "/"
    return stripped.rsplit("/", 1)[-1]


def go_dir(path: str) -> str:
    """Go `filepath.Dir`: everything up to the last slash, cleaned (`.` when there is none)."""
    return go_clean(path[: path.rfind("/") + 1])


def erofs_mount_source(table: MountTable, path: str) -> str:
    """Go `findErofsMountSource`: the first erofs mount at exactly `path`, its source."""
    for m in table.all_at(path):
        if m.fstype == "erofs":
            return m.source
    raise RootfsError(f"erofs mount not found for {path}")


def layer_source(table: MountTable, host: HostView, path: str) -> str:
    """The file Kata would hot-plug for lowerdir `path`, or the exact Go error."""
    source = erofs_mount_source(table, path)
    if source.startswith("/dev/loop"):
        source = _loop_backing_file(host, source)
    if go_base(source) != LAYER_BASENAME:
        raise RootfsError(f"unsupported mount source {source} for {path}")
    return source


def upper_source(table: MountTable, host: HostView, upperdir: str) -> str | None:
    """Go `parseOverlayUpperFs` + the rwlayer rule: the first mount whose mountpoint has the
    string prefix `filepath.Dir(upperdir)` (Go compares strings, not path components). None when
    no mount matches: the upper then lives in guest tmpfs."""
    m = table.first_with_prefix(go_dir(upperdir))
    if m is None:
        return None
    source = m.source
    if source.startswith("/dev/loop"):
        source = _loop_backing_file(host, source)
    if go_base(source) != RWLAYER_BASENAME:
        raise RootfsError(f"unsupported upper blockfile {source} for {upperdir}")
    return source


def create_erofs_devices(
    rootfs: RootFs, host: HostView, mountinfo: str | MountTable | None = None
) -> list[DeviceInfo]:
    """Go `createErofsDevices`: one read-only block DeviceInfo per lowerdir, in order, then the
    writable `rwlayer.img` upper when there is one. [] when the rootfs is not EROFS.

    Kata also remounts the rwlayer's host mount read-only; this read-only console does not.
    """
    if not is_erofs_rootfs(rootfs, host):
        return []
    if isinstance(mountinfo, MountTable):
        table = mountinfo
    elif mountinfo is not None:
        table = MountTable(mountinfo)
    else:
        try:
            table = MountTable(host.read_mountinfo())
        except OSError as exc:  # Go: mountinfo.GetMounts fails with the open error
            where = exc.filename or "/proc/self/mountinfo"
            raise RootfsError(go_path_error("open", str(where), exc)) from exc
    lowerdirs, upperdir = parse_erofs_rootfs_options(rootfs.options)
    infos = [create_device_info(host, layer_source(table, host, p), True) for p in lowerdirs]
    if upperdir:
        source = upper_source(table, host, upperdir)
        if source is not None:
            infos.append(create_device_info(host, source, False))
    return infos
