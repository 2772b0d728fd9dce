"""`HostView` on the live Linux kernel: procfs, sysfs, stat/statfs and LOOP_GET_STATUS64.

Read-only by construction: nothing here writes, mounts or attaches anything.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import stat
import struct

from kata_console.engine.ports import FileStat, LoopStatus

LOOP_GET_STATUS64 = 0x4C05
MAX_FILE_BYTES = 64 << 20
_LOOP_INFO64 = struct.Struct("=QQQQQIIII64s64s32s2Q")  # struct loop_info64, 232 bytes
assert _LOOP_INFO64.size == 232

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _filestat(st: os.stat_result) -> FileStat:
    return FileStat(mode=st.st_mode, dev=st.st_dev, ino=st.st_ino, rdev=st.st_rdev, size=st.st_size)


def _read(path: str) -> str:
    """The file's bytes as the kernel wrote them, decoded with surrogateescape. Never text
    mode: its newline translation turns a `\r` inside a path (which neither mountinfo nor
    sysfs escapes) into a line break."""
    with open(path, "rb") as fh:
        return fh.read().decode("utf-8", "surrogateescape")


class LinuxHost:
    """The live host, seen from this process's mount namespace (or `pid`'s mount table)."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = pid

    def read_mountinfo(self, pid: int | None = None) -> str:
        target = pid if pid is not None else self.pid
        return _read(f"/proc/{'self' if target is None else int(target)}/mountinfo")

    def read_text(self, path: str) -> str:
        return _read(path)

    def read_bytes(self, path: str) -> bytes:
        """A regular file, opened without following a final symlink and without blocking
        (a FIFO planted in a state directory must not hang a refresh), at most 64 MiB."""
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file", path)
            chunks, size = [], 0
            while chunk := os.read(fd, 1 << 20):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise OSError(errno.EFBIG, "larger than 64 MiB", path)
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def realpath(self, path: str) -> str:
        return os.path.realpath(path, strict=True)

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def stat(self, path: str) -> FileStat:
        return _filestat(os.stat(path))

    def lstat(self, path: str) -> FileStat:
        return _filestat(os.lstat(path))

    def statfs_type(self, path: str) -> int:
        buf = ctypes.create_string_buffer(256)  # struct statfs is 120 bytes on x86_64
        if _libc.statfs(os.fsencode(path), buf) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), path)
        return struct.unpack_from("=q", buf.raw, 0)[0] & 0xFFFFFFFF

    def loop_status(self, name: str) -> LoopStatus:
        if "/" in name or not name.startswith("loop"):
            raise OSError(errno.EINVAL, f"not a loop device name: {name!r}")
        fd = os.open(f"/dev/{name}", os.O_RDONLY | os.O_CLOEXEC)
        try:
            buf = bytearray(_LOOP_INFO64.size)
            fcntl.ioctl(fd, LOOP_GET_STATUS64, buf)
        finally:
            os.close(fd)
        (
            device,
            inode,
            _rdev,
            offset,
            _sizelimit,
            _number,
            _enc,
            _keysize,
            flags,
            file_name,
            *_rest,
        ) = _LOOP_INFO64.unpack(bytes(buf))
        name_bytes = file_name.split(b"\0", 1)[0]
        return LoopStatus(
            device=device,
            inode=inode,
            offset=offset,
            flags=flags,
            file_name=name_bytes.decode("utf-8", "surrogateescape"),
        )
