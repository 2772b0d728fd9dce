"""Block drives and their guest addressing, as Kata's block driver builds them
(`pkg/device/drivers/block.go`, `virtcontainers/utils`): the `BlockDrive` a hot-plug
carries, the block-driver names Go accepts, SCSI `scsi-id:lun` and `vdX` names from a
block index, and the guest address the agent waits for.
"""

from __future__ import annotations

from dataclasses import dataclass

from kata_console.engine import errors as E

VIRTIO_SCSI = "virtio-scsi"
VIRTIO_BLK = "virtio-blk"
VIRTIO_BLK_CCW = "virtio-blk-ccw"
VIRTIO_MMIO = "virtio-mmio"
NVDIMM = "nvdimm"
#: drivers Go keeps as given; any other value becomes virtio-scsi (`NewDeviceManager`)
KNOWN_BLOCK_DRIVERS = frozenset({VIRTIO_MMIO, VIRTIO_BLK, NVDIMM, VIRTIO_BLK_CCW})

#: block indexes are taken from [0, MAX_BLOCK_INDEX)
MAX_BLOCK_INDEX = 65535
MAX_SCSI_DEVICES = 65535
DRIVE_ID_MAX = 31


def normalize_block_driver(name: str) -> str:
    """Go `NewDeviceManager`: unknown block drivers (including "") mean virtio-scsi."""
    return name if name in KNOWN_BLOCK_DRIVERS else VIRTIO_SCSI


def make_name_id(kind: str, dev_id: str, max_len: int) -> str:
    """Go `utils.MakeNameID`: `<kind>-<id>` cut to `max_len` (QEMU limits IDs)."""
    return f"{kind}-{dev_id}"[:max_len]


def scsi_address(index: int) -> str:
    """Go `GetSCSIAddress`: `scsi-id:lun` = `index/256:index%256`."""
    if index < 0:
        raise E.DeviceError(E.INDEX_NEGATIVE_SCSI)
    if index > MAX_SCSI_DEVICES:
        raise E.DeviceError(E.INDEX_TOO_BIG % (MAX_SCSI_DEVICES, MAX_SCSI_DEVICES))
    return f"{index // 256}:{index % 256}"


def virt_drive_name(index: int) -> str:
    """Go `GetVirtDriveName`: vda..vdz, vdaa.. (bijective base 26, DISK_NAME_LEN 32)."""
    if index < 0:
        raise E.DeviceError(E.INDEX_NEGATIVE)
    letters: list[str] = []
    while index >= 0 and len(letters) < 30:
        letters.append(chr(ord("a") + index % 26))
        index = index // 26 - 1
    if index >= 0:
        raise E.DeviceError(E.INDEX_NOT_SUPPORTED)
    return "vd" + "".join(reversed(letters))


@dataclass(slots=True)
class BlockDrive:
    """Go `config.BlockDrive`. `pci_path` is a string ("02/01"); Go persists it as `{}`, so
    it is recomputed from the hypervisor's bridges on restore (lifecycle.persistdocs)."""

    file: str
    id: str
    index: int
    format: str = "raw"
    mmio_addr: str = ""
    scsi_addr: str = ""
    nvdimm_id: str = ""
    virt_path: str = ""
    dev_no: str = ""
    pci_path: str = ""
    share_rw: bool = False
    read_only: bool = False
    discard_unmap: bool = False
    pmem: bool = False
    swap: bool = False


def guest_address(drive: BlockDrive, driver: str) -> str:
    """What the agent is told to wait for (reference §2.4 table): SCSI address, PCI path,
    virt path, CCW devno or pmem node."""
    if driver == VIRTIO_BLK:
        return drive.pci_path or drive.virt_path
    if driver == VIRTIO_MMIO:
        return drive.virt_path
    if driver == VIRTIO_BLK_CCW:
        return drive.dev_no
    if driver == NVDIMM or drive.pmem:
        return f"/dev/pmem{drive.nvdimm_id}"
    return drive.scsi_addr


#: agent `Device.type` / `Storage.driver` per block driver
AGENT_BLOCK_TYPE = {
    VIRTIO_BLK: "blk",
    VIRTIO_SCSI: "scsi",
    VIRTIO_MMIO: "mmioblk",
    VIRTIO_BLK_CCW: "blk-ccw",
    NVDIMM: "nvdimm",
}
