"""Real throwaway kernel resources for tests: erofs images, loop devices, mounts, overlays.

Everything is created under one temporary directory and torn down in reverse order by
`close()` (called from a pytest finalizer), even when a test fails half-way. Mounts use
mount(2)/fsconfig(2) directly so the options reach the kernel byte for byte (mount(8)
would re-split them on commas and silently add loop devices).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import posixpath
import shutil
import subprocess
from pathlib import Path

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.syscall.restype = ctypes.c_long

MS_RDONLY = 1
MNT_DETACH = 2
SYS_MOVE_MOUNT, SYS_FSOPEN, SYS_FSCONFIG, SYS_FSMOUNT = 429, 430, 431, 432
FSCONFIG_SET_STRING, FSCONFIG_CMD_CREATE = 1, 6
MOVE_MOUNT_F_EMPTY_PATH = 0x4
AT_FDCWD = -100


PAGESIZE = os.sysconf("SC_PAGESIZE")


def containerd_mount_data(options: list[str]) -> tuple[str | None, str]:
    """(working directory, mount data) containerd's core/mount/mount_linux.go uses for an
    overlay: the options joined with `,`; when they total `pagesize - 512` bytes or more,
    `compactLowerdirOption` strips `path.Dir(longestCommonPrefix(lowerdirs)) + "/"` from
    every lowerdir, moves `lowerdir=` to the end and mounts from that directory."""
    if sum(len(o) for o in options) < PAGESIZE - 512:
        return None, ",".join(options)
    idx = next((i for i, o in enumerate(options) if o.startswith("lowerdir=")), -1)
    if idx < 0:
        return None, ",".join(options)
    dirs = options[idx][len("lowerdir=") :].split(":")
    if len(dirs) == 1:
        return None, ",".join(options)
    low, high = min(dirs), max(dirs)  # Go compares the alphabetical extremes
    n = 0
    while n < min(len(low), len(high)) and low[n] == high[n]:
        n += 1
    common = posixpath.dirname(low[:n])
    if common in ("/", ".", ""):
        return None, ",".join(options)
    common += "/"
    if any(len(d) <= len(common) for d in dirs):
        return None, ",".join(options)
    rest = options[:idx] + options[idx + 1 :]
    return common, ",".join([*rest, "lowerdir=" + ":".join(d[len(common) :] for d in dirs)])


def kernel_skip_reason() -> str | None:
    """Why real-kernel tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root (mount, losetup)"
    if shutil.which("mkfs.erofs") is None:
        return "needs mkfs.erofs (apt-get install erofs-utils)"
    if shutil.which("losetup") is None or not os.path.exists("/dev/loop-control"):
        return "needs loop devices and losetup"
    for fs in ("erofs", "overlay"):
        if not _has_fs(fs):
            subprocess.run(["modprobe", fs], capture_output=True, check=False)
            if not _has_fs(fs):
                return f"needs the {fs} filesystem in the kernel"
    return None


def _has_fs(name: str) -> bool:
    try:
        with open("/proc/filesystems", encoding="ascii") as fh:
            return any(line.split()[-1] == name for line in fh if line.strip())
    except OSError:
        return False


def _check(ret: int, what: str) -> int:
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


class KernelLab:
    """A temporary directory plus the loops and mounts made in it, undone by `close()`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._mounts: list[str] = []
        self._loops: list[str] = []

    def path(self, rel: str) -> Path:
        return self.root / rel

    def mkfs(self, image: str | Path, files: dict[str, str]) -> Path:
        """Build a real erofs image holding `files` (name -> content)."""
        image = Path(image) if Path(image).is_absolute() else self.path(str(image))
        src = Path(f"{image}.src")
        src.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            (src / name).write_text(content)
        image.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mkfs.erofs", "--quiet", str(image), str(src)], check=True, capture_output=True
        )
        shutil.rmtree(src)
        return image

    def mkfs_dir(self, image: Path, src: Path) -> Path:
        subprocess.run(
            ["mkfs.erofs", "--quiet", str(image), str(src)], check=True, capture_output=True
        )
        return image

    def losetup(self, file: str | Path, *, offset: int = 0) -> str:
        """Attach a read-only loop device (no autoclear, like a hand-made loop)."""
        cmd = ["losetup", "-r", "--show", "-f"]
        if offset:
            cmd += ["-o", str(offset)]
        dev = subprocess.run(
            [*cmd, str(file)], check=True, capture_output=True, text=True
        ).stdout.strip()
        self._loops.append(dev)
        return dev

    def detach(self, dev: str) -> None:
        subprocess.run(["losetup", "-d", dev], check=True, capture_output=True)

    def mount(
        self,
        source: str | Path,
        target: str | Path,
        fstype: str,
        data: str = "",
        flags: int = 0,
        *,
        cwd: str | Path | None = None,
    ) -> Path:
        """mount(2) with `data` byte for byte; with `cwd`, from that working directory (as
        containerd's `mountAt` does for compacted overlay options)."""
        target = Path(target)
        target.mkdir(parents=True, exist_ok=True)
        here = os.getcwd()
        if cwd is not None:
            os.chdir(cwd)
        try:
            _check(
                _libc.mount(
                    os.fsencode(str(source)),
                    os.fsencode(str(target)),
                    fstype.encode(),
                    ctypes.c_ulong(flags),
                    os.fsencode(data) if data else None,
                ),
                f"mount {target}",
            )
        finally:
            os.chdir(here)
        self._mounts.append(str(target))
        return target

    def mount_overlay_like_containerd(self, target: Path, options: list[str]) -> str:
        """Mount an overlay the way containerd's core/mount does; returns the data string."""
        chdir, data = containerd_mount_data(options)
        self.mount("overlay", target, "overlay", data, cwd=chdir)
        return data

    def mkfs_ext4(self, image: Path, size: int = 8 << 20) -> Path:
        image.parent.mkdir(parents=True, exist_ok=True)
        with open(image, "wb") as fh:
            fh.truncate(size)
        subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True, capture_output=True)
        return image

    def losetup_rw(self, file: str | Path) -> str:
        """A writable loop (the block-mode rwlayer.img)."""
        dev = subprocess.run(
            ["losetup", "--show", "-f", str(file)], check=True, capture_output=True, text=True
        ).stdout.strip()
        self._loops.append(dev)
        return dev

    def mount_erofs(self, source: str | Path, target: str | Path) -> Path:
        """An erofs mount, file-backed when `source` is a regular file (Linux 6.12+)."""
        return self.mount(source, target, "erofs", flags=MS_RDONLY)

    def mount_overlay_fsconfig(self, target: Path, params: list[tuple[str, str]]) -> Path:
        """An overlay built with fsopen/fsconfig, one `lowerdir+`/`datadir+` per layer."""
        target.mkdir(parents=True, exist_ok=True)
        fd = _check(_libc.syscall(SYS_FSOPEN, b"overlay", 0), "fsopen overlay")
        try:
            for key, value in params:
                _check(
                    _libc.syscall(
                        SYS_FSCONFIG, fd, FSCONFIG_SET_STRING, key.encode(), os.fsencode(value), 0
                    ),
                    f"fsconfig {key}={value}",
                )
            _check(
                _libc.syscall(SYS_FSCONFIG, fd, FSCONFIG_CMD_CREATE, None, None, 0),
                "fsconfig create",
            )
            mfd = _check(_libc.syscall(SYS_FSMOUNT, fd, 0, 0), "fsmount")
            try:
                _check(
                    _libc.syscall(
                        SYS_MOVE_MOUNT,
                        mfd,
                        b"",
                        AT_FDCWD,
                        os.fsencode(str(target)),
                        MOVE_MOUNT_F_EMPTY_PATH,
                    ),
                    "move_mount",
                )
            finally:
                os.close(mfd)
        finally:
            os.close(fd)
        self._mounts.append(str(target))
        return target

    def umount(self, target: str | Path) -> None:
        _check(_libc.umount2(os.fsencode(str(target)), 0), f"umount {target}")
        self._mounts.remove(str(target))

    def close(self) -> None:
        """Unmount everything (lazily if busy), then detach every loop we attached."""
        errors = []
        for target in reversed(self._mounts):
            if (
                _libc.umount2(os.fsencode(target), 0) != 0
                and _libc.umount2(os.fsencode(target), MNT_DETACH) != 0
            ):
                errors.append(target)
        self._mounts.clear()
        for dev in reversed(self._loops):
            subprocess.run(["losetup", "-d", dev], capture_output=True, check=False)
        self._loops.clear()
        if errors:
            raise RuntimeError(f"could not unmount: {errors}")
