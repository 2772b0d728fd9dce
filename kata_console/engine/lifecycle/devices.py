"""Kata's device manager (`pkg/device/manager`, `drivers/{generic,block}.go`; reference §2).

Two counters per device, as in Go: `refcount` counts the containers that reference the
device (NewDevice / RemoveDevice), `attach_count` counts attaches and decides when the
real hot-plug and unplug happen (0 -> 1 plugs, 1 -> 0 unplugs). Deduplication by
(major, minor), or by host path for file-backed devices (major -1), is what makes an EROFS
layer shared by two containers of a pod one guest disk, unplugged when its last user goes.
The manager itself does no I/O: the hot-plug goes through a `DeviceReceiver` (the sandbox),
which is where the step event and the hypervisor call live.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kata_console.engine import errors as E
from kata_console.engine.deviceinfo import FILE_BACKED_MAJOR, DeviceInfo
from kata_console.engine.ids import RandomIds
from kata_console.engine.lifecycle.drives import (  # noqa: F401 (names the manager's users import)
    AGENT_BLOCK_TYPE,
    DRIVE_ID_MAX,
    KNOWN_BLOCK_DRIVERS,
    MAX_BLOCK_INDEX,
    MAX_SCSI_DEVICES,
    NVDIMM,
    VIRTIO_BLK,
    VIRTIO_BLK_CCW,
    VIRTIO_MMIO,
    VIRTIO_SCSI,
    BlockDrive,
    guest_address,
    make_name_id,
    normalize_block_driver,
    scsi_address,
    virt_drive_name,
)
from kata_console.engine.ports import IdSource

BLOCK = "block"
GENERIC = "generic"
VFIO = "vfio"
VHOST_USER_BLK = "vhost-user-blk-pci"
VHOST_USER_SCSI = "vhost-user-scsi-pci"
VHOST_USER_NET = "virtio-net-pci"

VHOST_USER_BLK_MAJOR = 241
#: Go `intMax = ^uint(0)`: a 64-bit uint, where RefCount saturates and AttachCount stops
INT_MAX = 2**64 - 1
MAX_ATTACH = INT_MAX
CDROM_MAJORS = frozenset({11, 15, 16, 17, 18, 20, 23, 24, 25, 26, 27, 28, 29, 32})
FLOPPY_MAJOR = 2


def is_filtered_major(major: int) -> str | None:
    """Why `filterDevices` keeps this major out of a container's devices (None: keep it)."""
    if major in CDROM_MAJORS:
        return "Not attach device because it is a CDROM"
    if major == FLOPPY_MAJOR:
        return "Not attaching device because it is a floppy drive"
    return None


@dataclass(slots=True, eq=False)
class Device:
    """A device in the manager: the DeviceInfo it came from plus both counters."""

    id: str
    type: str
    info: DeviceInfo
    refcount: int = 0
    attach_count: int = 0
    drive: BlockDrive | None = None
    driver_options: dict[str, str] = field(default_factory=dict)
    #: the DeviceState read from persist.json (fields the engine does not model survive)
    persisted: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    #: (what it showed, its persist.json encoding), kept by lifecycle.persistdocs
    persist_cache: tuple[Any, str] | None = field(default=None, repr=False, compare=False)

    @property
    def host_path(self) -> str:
        return self.info.host_path

    @property
    def attached(self) -> bool:
        return self.attach_count > 0


@dataclass(frozen=True, slots=True)
class DeviceRow:
    """One line of the device table (`play --json` `devices[]`, the console's device view).
    `index`/`address` are shown only while the device is plugged."""

    id: str
    host_path: str
    kind: str
    refcount: int
    attach_count: int
    index: int | None
    address: str | None
    read_only: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "host_path": self.host_path,
            "kind": self.kind,
            "refcount": self.refcount,
            "attach_count": self.attach_count,
            "index": self.index,
            "address": self.address,
            "read_only": self.read_only,
        }


class DeviceReceiver(Protocol):
    """Go `api.DeviceReceiver`, the part block devices use: the sandbox."""

    def get_and_set_block_index(self) -> int: ...

    def unset_block_index(self, index: int) -> None: ...

    async def hotplug_add_device(self, device: Device) -> None: ...

    async def hotplug_remove_device(self, device: Device) -> None: ...


HostPathResolver = Callable[[DeviceInfo], str]


class DeviceManager:
    """Go `deviceManager`. Not thread-safe (Go takes a lock; the engine runs on one loop and
    the counters are only touched between awaits)."""

    def __init__(
        self,
        block_driver: str = VIRTIO_SCSI,
        *,
        ids: IdSource | None = None,
        host_path: HostPathResolver | None = None,
    ) -> None:
        self.block_driver = normalize_block_driver(block_driver)
        self._ids: IdSource = ids or RandomIds()
        self._host_path = host_path
        self.devices: dict[str, Device] = {}
        #: bumped on every change, so a save can tell whether the table changed
        self.revision = 0
        #: IDs of devices changed (or gone) since the persist document last took them, in
        #: the order they were touched (so new devices come in creation order)
        self.changed: dict[str, None] = {}

    # ------------------------------------------------------------------ queries
    def get_device_by_id(self, dev_id: str) -> Device | None:
        return self.devices.get(dev_id)

    def get_all_devices(self) -> list[Device]:
        return list(self.devices.values())

    def is_device_attached(self, dev_id: str) -> bool:
        dev = self.devices.get(dev_id)
        return dev is not None and dev.attached

    def find_device(self, info: DeviceInfo) -> Device | None:
        """Go `FindDevice`: by host path for file-backed devices, else by (major, minor)."""
        for dev in self.devices.values():
            if info.major == FILE_BACKED_MAJOR:
                if dev.info.major == FILE_BACKED_MAJOR and dev.info.host_path == info.host_path:
                    return dev
            elif dev.info.major == info.major and dev.info.minor == info.minor:
                return dev
        return None

    def rows(self) -> list[DeviceRow]:
        rows = []
        for dev in self.devices.values():
            plugged = dev.drive is not None and dev.attached
            rows.append(
                DeviceRow(
                    id=dev.id,
                    host_path=dev.host_path,
                    kind=dev.type,
                    refcount=dev.refcount,
                    attach_count=dev.attach_count,
                    index=dev.drive.index if plugged and dev.drive else None,
                    address=guest_address(dev.drive, self.block_driver)
                    if plugged and dev.drive
                    else None,
                    read_only=dev.info.read_only,
                )
            )
        return rows

    # ------------------------------------------------------------------ NewDevice
    def new_device(self, info: DeviceInfo) -> Device:
        """Go `NewDevice`: find or create, then always take a reference."""
        if not info.pmem:
            info = dataclasses.replace(info, host_path=self._resolve_host_path(info))
        dev = self.find_device(info)
        if dev is None:
            dev = Device(self._new_id(), self._type_of(info), info)
            if dev.type == BLOCK:
                dev.driver_options = {**info.driver_options, "block-driver": self.block_driver}
            self.devices[dev.id] = dev
        dev.refcount = min(dev.refcount + 1, MAX_ATTACH)
        self._touch(dev.id)
        return dev

    def _resolve_host_path(self, info: DeviceInfo) -> str:
        """Go `GetHostPath`; without a host to read sysfs from, the given path stands."""
        if not info.container_path:
            raise E.DeviceError(E.EMPTY_DEVICE_PATH)
        if info.major == FILE_BACKED_MAJOR or self._host_path is None:
            return info.host_path or info.container_path
        return self._host_path(info)

    def _new_id(self) -> str:
        for _ in range(5):
            candidate = self._ids.token_hex(8)
            if candidate not in self.devices:
                return candidate
        raise E.DeviceError(E.IDS_EXHAUSTED)

    @staticmethod
    def _type_of(info: DeviceInfo) -> str:
        path = info.host_path
        if path.startswith("/dev/vfio/") and not path.startswith("/dev/vfio/vfio"):
            return VFIO
        if info.dev_type == "b" and info.major == VHOST_USER_BLK_MAJOR:
            return VHOST_USER_BLK
        if info.dev_type == "b":
            return BLOCK
        return GENERIC

    # ------------------------------------------------------------------ attach / detach
    def _get(self, dev_id: str) -> Device:
        dev = self.devices.get(dev_id)
        if dev is None:
            raise E.DeviceNotExist(E.DEVICE_NOT_EXIST)
        return dev

    def _bump(self, dev: Device, attach: bool) -> bool:
        """Go `bumpAttachCount`: returns `skip` (True: no real plug/unplug needed)."""
        self._touch(dev.id)
        if attach:
            if dev.attach_count >= MAX_ATTACH:
                raise E.DeviceError(E.ATTACHED_TOO_MANY)
            dev.attach_count += 1
            return dev.attach_count != 1
        if dev.attach_count == 0:
            raise E.DeviceError(E.DETACH_UNATTACHED)
        dev.attach_count -= 1
        return dev.attach_count != 0

    async def attach_device(self, dev_id: str, receiver: DeviceReceiver) -> None:
        dev = self._get(dev_id)
        if dev.type != BLOCK:  # generic, vfio, vhost-user: counted, never hot-plugged here
            self._bump(dev, True)
            return
        if self._bump(dev, True):
            return
        index = -1
        try:
            index = receiver.get_and_set_block_index()
            dev.drive = self._make_drive(dev, index)
            await receiver.hotplug_add_device(dev)
        except BaseException:
            if index >= 0:
                receiver.unset_block_index(index)
            dev.attach_count -= 1
            self._touch(dev.id)
            raise

    def _make_drive(self, dev: Device, index: int) -> BlockDrive:
        info = dev.info
        drive = BlockDrive(
            file=info.host_path,
            id=make_name_id("drive", dev.id, DRIVE_ID_MAX),
            index=index,
            format=info.driver_options.get("fstype", "raw"),
            read_only=info.read_only,
            pmem=info.pmem,
        )
        driver = dev.driver_options.get("block-driver", self.block_driver)
        if driver == VIRTIO_SCSI:
            drive.scsi_addr = scsi_address(index)
        elif driver in (VIRTIO_BLK, VIRTIO_BLK_CCW):
            drive.virt_path = "/dev/" + virt_drive_name(index)
        elif driver == VIRTIO_MMIO:
            drive.virt_path = "/dev/" + virt_drive_name(index + 1)  # vda is the guest image
        return drive

    async def detach_device(self, dev_id: str, receiver: DeviceReceiver) -> None:
        dev = self._get(dev_id)
        if dev.attach_count == 0:
            raise E.DeviceNotAttached(E.DEVICE_NOT_ATTACHED)
        if dev.type != BLOCK:
            self._bump(dev, False)
            return
        if self._bump(dev, False):
            return
        try:
            await receiver.hotplug_remove_device(dev)
        except BaseException:
            dev.attach_count += 1
            self._touch(dev.id)
            raise
        if dev.drive is not None:
            receiver.unset_block_index(dev.drive.index)

    def remove_device(self, dev_id: str) -> None:
        """Go `RemoveDevice`: drop a reference; forget the device when none is left. An
        attached device with no references is an error, and its refcount stays at 0."""
        dev = self._get(dev_id)
        dev.refcount = max(dev.refcount - 1, 0)
        self._touch(dev_id)
        if dev.refcount > 0:
            return
        if dev.attach_count > 0:
            raise E.RemoveAttachedDevice(E.REMOVE_ATTACHED_DEVICE)
        del self.devices[dev_id]

    def load_devices(self, devices: Iterable[Device]) -> None:
        """Go `LoadDevices`: rebuild the table from persisted state (unknown types skipped)."""
        for dev in devices:
            if dev.type in (BLOCK, GENERIC, VFIO, VHOST_USER_BLK, VHOST_USER_SCSI, VHOST_USER_NET):
                self.devices[dev.id] = dev
                self.changed[dev.id] = None
        self.revision += 1

    def _touch(self, dev_id: str) -> None:
        self.revision += 1
        self.changed[dev_id] = None


@dataclass(slots=True)
class ContainerDevice:
    """Go `ContainerDevice`: a container's reference to a manager device (persisted as a
    `DeviceMaps` entry). `shared` devices (block emptyDirs) are left at container stop."""

    id: str
    container_path: str
    file_mode: int = 0
    uid: int = 0
    gid: int = 0
    shared: bool = False
