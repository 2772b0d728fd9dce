"""Reading persist.json documents back (Go `loadState`/`loadContState`), from files we wrote
or a Go runtime wrote. Accepts everything Go writes (`"PCIPath": {}`, `null` slices,
missing fields as zero values); refuses wrong types with the file and the field named.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kata_console.engine.deviceinfo import DeviceInfo
from kata_console.engine.lifecycle.devices import BlockDrive, ContainerDevice, Device
from kata_console.engine.persist.schema import ContainerConfigRecord, ContainerRecord, SandboxRecord
from kata_console.engine.persist.store import PersistError, parse_go_time

_TYPES: dict[type, str] = {
    str: "string",
    int: "integer",
    bool: "boolean",
    dict: "object",
    list: "array",
}


class _Reader:
    """Typed field access with Go's zero values; errors name the file and the field path."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)

    def get(
        self, doc: dict[str, Any], key: str, kind: type, where: str, default: Any = None
    ) -> Any:
        value = doc.get(key)
        if value is None:
            return kind() if default is None else default
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if not ok:
            raise PersistError(
                f"{self.path}: {where}{key}: expected {_TYPES[kind]}, got {type(value).__name__}"
            )
        return value

    def obj(self, doc: dict[str, Any], key: str, where: str) -> dict[str, Any]:
        return self.get(doc, key, dict, where)


def _pci_path(r: _Reader, doc: dict[str, Any], where: str) -> str:
    value = doc.get("PCIPath")
    if value is None or isinstance(value, dict):  # Go writes {} (no exported fields)
        return ""
    if isinstance(value, str):
        return value
    raise PersistError(f"{r.path}: {where}PCIPath: expected string or object")


def decode_block_drive(r: _Reader, d: dict[str, Any], where: str) -> BlockDrive:
    g = r.get
    return BlockDrive(
        file=g(d, "File", str, where),
        id=g(d, "ID", str, where),
        index=g(d, "Index", int, where),
        format=g(d, "Format", str, where),
        mmio_addr=g(d, "MmioAddr", str, where),
        scsi_addr=g(d, "SCSIAddr", str, where),
        nvdimm_id=g(d, "NvdimmID", str, where),
        virt_path=g(d, "VirtPath", str, where),
        dev_no=g(d, "DevNo", str, where),
        pci_path=_pci_path(r, d, where),
        share_rw=g(d, "ShareRW", bool, where),
        read_only=g(d, "ReadOnly", bool, where),
        discard_unmap=g(d, "DiscardUnmap", bool, where),
        pmem=g(d, "Pmem", bool, where),
        swap=g(d, "Swap", bool, where),
    )


def decode_device(r: _Reader, d: dict[str, Any], where: str) -> Device:
    g = r.get
    drive_doc = d.get("BlockDrive")
    drive = (
        decode_block_drive(r, r.obj(d, "BlockDrive", where), where + "BlockDrive.")
        if drive_doc
        else None
    )
    options = {str(k): str(v) for k, v in r.obj(d, "DriverOptions", where).items()}
    info = DeviceInfo(
        host_path=drive.file if drive else "",  # Go keeps the path only inside BlockDrive
        container_path="",
        dev_type=g(d, "DevType", str, where),
        major=g(d, "Major", int, where),
        minor=g(d, "Minor", int, where),
        read_only=drive.read_only if drive else False,
        driver_options=options,
        pmem=drive.pmem if drive else False,
        cold_plug=g(d, "ColdPlug", bool, where),
    )
    return Device(
        id=g(d, "ID", str, where),
        type=g(d, "Type", str, where),
        info=info,
        refcount=g(d, "RefCount", int, where),
        attach_count=g(d, "AttachCount", int, where),
        drive=drive,
        driver_options=options,
    )


def decode_container(path: Path | str, doc: dict[str, Any]) -> ContainerRecord:
    r = _Reader(path)
    rootfs = r.obj(doc, "Rootfs", "")
    process = r.obj(doc, "Process", "")
    try:
        start = parse_go_time(r.get(process, "StartTime", str, "Process."))
    except ValueError as exc:
        raise PersistError(f"{path}: Process.StartTime: {exc}") from exc
    maps = []
    for i, m in enumerate(r.get(doc, "DeviceMaps", list, "")):
        where = f"DeviceMaps[{i}]."
        if not isinstance(m, dict):
            raise PersistError(f"{path}: {where[:-1]}: expected object")
        maps.append(
            ContainerDevice(
                r.get(m, "ID", str, where),
                r.get(m, "ContainerPath", str, where),
                r.get(m, "FileMode", int, where),
                r.get(m, "UID", int, where),
                r.get(m, "GID", int, where),
                r.get(m, "Shared", bool, where),
            )
        )
    mounts = doc.get("Mounts")
    if mounts is not None and not isinstance(mounts, list):
        raise PersistError(f"{path}: Mounts: expected array")
    return ContainerRecord(
        state=r.get(doc, "State", str, ""),
        block_device_id=r.get(rootfs, "BlockDeviceID", str, "Rootfs."),
        fstype=r.get(rootfs, "FsType", str, "Rootfs."),
        token=r.get(process, "Token", str, "Process."),
        pid=r.get(process, "Pid", int, "Process.", default=-1),
        start_time=start,
        device_maps=maps,
        mounts=mounts,
    )


def decode_sandbox(path: Path | str, doc: dict[str, Any]) -> SandboxRecord:
    r = _Reader(path)
    hv = r.obj(doc, "HypervisorState", "")
    config = r.obj(doc, "Config", "")
    hv_config = r.obj(config, "HypervisorConfig", "Config.")
    indexes: set[int] = set()
    for key in r.obj(hv, "BlockIndexMap", "HypervisorState."):
        try:
            indexes.add(int(key))
        except ValueError:
            raise PersistError(
                f"{path}: HypervisorState.BlockIndexMap: key {key!r} is not an integer"
            ) from None
    devices = []
    for i, d in enumerate(r.get(doc, "Devices", list, "")):
        if not isinstance(d, dict):
            raise PersistError(f"{path}: Devices[{i}]: expected object")
        devices.append(decode_device(r, d, f"Devices[{i}]."))
    configs = []
    for i, c in enumerate(r.get(config, "ContainerConfigs", list, "Config.")):
        where = f"Config.ContainerConfigs[{i}]."
        if not isinstance(c, dict):
            raise PersistError(f"{path}: {where[:-1]}: expected object")
        annotations = r.obj(c, "Annotations", where)
        configs.append(
            ContainerConfigRecord(
                r.get(c, "ID", str, where),
                r.get(c, "RootFs", str, where),
                {str(k): str(v) for k, v in annotations.items()} or None,
                r.obj(c, "Resources", where),
            )
        )
    return SandboxRecord(
        id=r.get(doc, "SandboxContainer", str, ""),
        state=r.get(doc, "State", str, ""),
        block_index_map=indexes,
        devices=devices,
        agent_url=r.get(r.obj(doc, "AgentState", ""), "URL", str, "AgentState."),
        hypervisor_type=r.get(hv, "Type", str, "HypervisorState.")
        or r.get(config, "HypervisorType", str, "Config."),
        block_driver=r.get(hv_config, "BlockDeviceDriver", str, "Config.HypervisorConfig."),
        shared_fs=r.get(hv_config, "SharedFS", str, "Config.HypervisorConfig."),
        persist_version=r.get(doc, "PersistVersion", int, "", default=0),
        guest_memory_block_size_mb=r.get(doc, "GuestMemoryBlockSizeMB", int, ""),
        container_configs=configs,
    )
