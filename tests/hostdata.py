"""Build recorded-host snapshots by hand, from the reference samples (erofs-chains.md §7).

Used where the real thing cannot be had in CI: states captured once on a real kernel
(containerd 2.2 activations, a namespace-relative loop path, a 63-byte `lo_file_name`).
"""

from __future__ import annotations

import os
import stat
from typing import Any

from backends.host.snapshot import FORMAT, SnapshotHost

ROOT = "/tmp/kcroot-0123456789"  # 22 bytes, like the reference's $ROOT
REG = stat.S_IFREG | 0o644
DIR = stat.S_IFDIR | 0o755
LNK = stat.S_IFLNK | 0o777
BLK = stat.S_IFBLK | 0o660
DISK = os.makedev(254, 0)


class HostBuilder:
    def __init__(self, mountinfo: str) -> None:
        self.data: dict[str, Any] = {
            "format": FORMAT,
            "mountinfo": {"self": mountinfo.replace("$ROOT", ROOT)},
            "calls": {
                m: {}
                for m in (
                    "read_text",
                    "realpath",
                    "listdir",
                    "stat",
                    "lstat",
                    "statfs_type",
                    "loop_status",
                )
            },
        }
        self._ino = 1000

    def _c(self, method: str) -> dict[str, Any]:
        return self.data["calls"][method]

    def file(
        self,
        path: str,
        *,
        mode: int = REG,
        dev: int = DISK,
        ino: int | None = None,
        lmode: int | None = None,
        target: str | None = None,
    ) -> int:
        path = path.replace("$ROOT", ROOT)
        self._ino += 1
        ino = ino or self._ino
        self._c("stat")[path] = {"mode": mode, "dev": dev, "ino": ino, "rdev": 0, "size": 4096}
        if lmode is not None:
            self._c("lstat")[path] = {
                "mode": lmode,
                "dev": dev,
                "ino": ino + 5000,
                "rdev": 0,
                "size": 10,
            }
        if target is not None:
            self._c("realpath")[path] = target.replace("$ROOT", ROOT)
        return ino

    def text(self, path: str, content: str) -> None:
        self._c("read_text")[path] = content.replace("$ROOT", ROOT)
        self._c("stat")[path] = {"mode": REG, "dev": 0, "ino": 1, "rdev": 0, "size": 4096}

    def loop(
        self,
        n: int,
        backing: str | None,
        *,
        ino: int = 0,
        dev: int = DISK,
        autoclear: int = 0,
        offset: int = 0,
        ro: int = 1,
    ) -> None:
        """A loop device's sysfs; `backing=None` is an unbound (detached) loop."""
        sysdir = f"/sys/devices/virtual/block/loop{n}"
        self._c("realpath")[f"/sys/dev/block/7:{n}"] = sysdir
        self.text(f"{sysdir}/dev", f"7:{n}\n")
        self.text(f"{sysdir}/ro", f"{ro}\n")
        if backing is None:
            self._c("loop_status")[f"loop{n}"] = {"errno": 6}
            return
        self.text(f"{sysdir}/loop/backing_file", backing + "\n")
        self.text(f"/sys/block/loop{n}/loop/backing_file", backing + "\n")
        for name, value in (("offset", offset), ("sizelimit", 0), ("autoclear", autoclear)):
            self.text(f"{sysdir}/loop/{name}", f"{value}\n")
        self._c("loop_status")[f"loop{n}"] = {
            "device": dev,
            "inode": ino,
            "offset": offset,
            "flags": (1 if ro else 0) | (4 if autoclear else 0),  # LO_FLAGS_READ_ONLY, _AUTOCLEAR
            "file_name": backing.replace("$ROOT", ROOT)[:63],
        }

    def disk(self, majmin: str, name: str) -> None:
        sysdir = f"/sys/devices/pci0000:00/block/{name}"
        self._c("realpath")[f"/sys/dev/block/{majmin}"] = sysdir
        self.text(f"{sysdir}/dev", majmin + "\n")
        self.text(f"{sysdir}/ro", "0\n")

    def erofs_magic(self, path: str) -> None:
        self._c("statfs_type")[path.replace("$ROOT", ROOT)] = 0xE0F5E1E2

    def host(self) -> SnapshotHost:
        return SnapshotHost(self.data)
