"""`DeviceInfo`: what a container asks the device manager for (Go `config.DeviceInfo`).

Shared by the EROFS rootfs code (which produces them) and the device manager (which
turns them into devices); kept apart so neither has to import the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Major number Kata uses for "a regular file used as a block device".
FILE_BACKED_MAJOR = -1


@dataclass(slots=True)
class DeviceInfo:
    """A device request. `major == -1` means `host_path` is a regular file (an EROFS layer)."""

    host_path: str
    container_path: str
    dev_type: str = "b"
    major: int = FILE_BACKED_MAJOR
    minor: int = 0
    read_only: bool = False
    file_mode: int = 0
    uid: int = 0
    gid: int = 0
    driver_options: dict[str, str] = field(default_factory=dict)
    pmem: bool = False
    cold_plug: bool = False
    id: str = ""

    def to_dict(self) -> dict[str, object]:
        """The `rootfs` command's JSON shape for one device."""
        return {
            "host_path": self.host_path,
            "container_path": self.container_path,
            "dev_type": self.dev_type,
            "major": self.major,
            "minor": self.minor,
            "read_only": self.read_only,
        }
