"""The persist.json documents, field by field as Go's `persistapi` (kata-engine.md §4.3).

Encoders build dicts in Go struct order (Go tools do not care, diffs against Go files do);
decoders accept everything Go writes (`"PCIPath": {}`, `null` slices, missing fields as
zero values) and refuse wrong types with a message naming the file and the field.
Fields Go writes but never fills (cgroup paths, bridges, network endpoints) are written as
Go writes them for a sandbox that has none.
"""

from __future__ import annotations

import datetime as _dt
import functools
from dataclasses import dataclass, field
from typing import Any

from kata_console.engine.lifecycle.devices import BlockDrive, ContainerDevice, Device
from kata_console.engine.persist.store import (
    CUR_PERSIST_VERSION,
    go_json,
    go_time,
)


@dataclass(slots=True)
class ContainerRecord:
    """What `<cid>/persist.json` holds (Go `persistapi.ContainerState`)."""

    state: str = ""
    block_device_id: str = ""
    fstype: str = ""
    token: str = ""
    pid: int = -1
    start_time: _dt.datetime | None = None
    device_maps: list[ContainerDevice] = field(default_factory=list)
    mounts: list[dict[str, Any]] | None = None


@dataclass(slots=True)
class ContainerConfigRecord:
    """One `Config.ContainerConfigs` entry; Go keeps only the rootfs Target."""

    id: str
    rootfs: str = ""
    annotations: dict[str, str] | None = None
    resources: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SandboxRecord:
    """What the sandbox `persist.json` holds, decoded."""

    id: str
    state: str = ""
    block_index_map: set[int] = field(default_factory=set)
    devices: list[Device] = field(default_factory=list)
    agent_url: str = ""
    hypervisor_type: str = ""
    block_driver: str = ""
    shared_fs: str = ""
    persist_version: int = CUR_PERSIST_VERSION
    guest_memory_block_size_mb: int = 0
    container_configs: list[ContainerConfigRecord] = field(default_factory=list)
    containers: dict[str, ContainerRecord] = field(default_factory=dict)


# ------------------------------------------------------------------------- encoding
def encode_block_drive(d: BlockDrive) -> dict[str, Any]:
    return {
        "File": d.file,
        "Format": d.format,
        "ID": d.id,
        "MmioAddr": d.mmio_addr,
        "SCSIAddr": d.scsi_addr,
        "NvdimmID": d.nvdimm_id,
        "VirtPath": d.virt_path,
        "DevNo": d.dev_no,
        "PCIPath": d.pci_path,
        "Index": d.index,
        "ShareRW": d.share_rw,
        "ReadOnly": d.read_only,
        "DiscardUnmap": d.discard_unmap,
        "Pmem": d.pmem,
        "Swap": d.swap,
    }


def encode_device(dev: Device) -> dict[str, Any]:
    """Go `DeviceState` (GenericDevice.Save drops HostPath/ReadOnly; BlockDrive keeps them)."""
    doc: dict[str, Any] = {"DriverOptions": (dev.driver_options or dev.info.driver_options) or None}
    if dev.drive is not None:
        doc["BlockDrive"] = encode_block_drive(dev.drive)
    doc.update(
        {
            "ID": dev.id,
            "Type": dev.type,
            "DevType": dev.info.dev_type,
            "RefCount": dev.refcount,
            "AttachCount": dev.attach_count,
            "Major": dev.info.major,
            "Minor": dev.info.minor,
            "ColdPlug": dev.info.cold_plug,
        }
    )
    return doc


def device_fragment(dev: Device) -> str:
    """`encode_device` as JSON text, cached on the device while nothing it shows changed."""
    drive = dev.drive
    key = (dev.refcount, dev.attach_count, id(drive), drive.pci_path if drive else None)
    cached = dev.persist_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    text = go_json(encode_device(dev))
    dev.persist_cache = (key, text)
    return text


def encode_container(rec: ContainerRecord) -> str:
    return go_json(
        {
            "State": rec.state,
            "CgroupPath": "",
            "BundlePath": "",
            "Rootfs": {"BlockDeviceID": rec.block_device_id, "FsType": rec.fstype},
            "Process": {"StartTime": go_time(rec.start_time), "Token": rec.token, "Pid": rec.pid},
            "DeviceMaps": [
                {
                    "ID": d.id,
                    "ContainerPath": d.container_path,
                    "FileMode": d.file_mode,
                    "UID": d.uid,
                    "GID": d.gid,
                    "Shared": d.shared,
                }
                for d in rec.device_maps
            ]
            or None,
            "Mounts": rec.mounts,
        }
    )


def encode_container_config(cfg: ContainerConfigRecord) -> str:
    """One ContainerConfigs entry, encoded once and cached by the caller (it rarely changes)."""
    return go_json(
        {
            "Annotations": cfg.annotations or None,
            "Resources": cfg.resources,
            "ID": cfg.id,
            "RootFs": cfg.rootfs,
        }
    )


#: placeholders for the parts of the sandbox document that change between saves
_SLOTS = ("Devices", "State", "BlockIndexMap", "URL", "ContainerConfigs", "GuestMemoryBlockSizeMB")


@functools.lru_cache(maxsize=256)
def _sandbox_template(
    sandbox_id: str, hypervisor_type: str, block_driver: str, shared_fs: str, persist_version: int
) -> tuple[str, ...]:
    """The sandbox document encoded once, cut at the fields that change between saves:
    a save then costs a join instead of a full encode."""
    slot = {name: f"\x00{name}\x00" for name in _SLOTS}
    doc = {
        "CgroupPaths": None,
        "Devices": slot["Devices"],
        "State": slot["State"],
        "SandboxContainer": sandbox_id,
        "SandboxCgroupPath": "",
        "OverheadCgroupPath": "",
        "HypervisorState": {
            "BlockIndexMap": slot["BlockIndexMap"],
            "Type": hypervisor_type,
            "UUID": "",
            "APISocket": "",
            "Bridges": None,
            "HotpluggedVCPUs": None,
            "HotpluggedMemory": 0,
            "VirtiofsDaemonPid": 0,
            "Pid": 0,
            "HotPlugVFIO": "",
            "ColdPlugVFIO": "",
            "PCIeRootPort": 0,
            "PCIeSwitchPort": 0,
        },
        "AgentState": {"URL": slot["URL"]},
        "Network": {"NetworkID": "", "Endpoints": None, "NetworkCreated": False},
        "Config": {
            "cgroups": None,
            "KataAgentConfig": {"LongLiveConn": True},
            "KataShimConfig": None,
            "GuestSeLinuxLabel": "",
            "HypervisorType": hypervisor_type,
            "SandboxBindMounts": None,
            "Experimental": None,
            "ContainerConfigs": slot["ContainerConfigs"],
            "NetworkConfig": {
                "NetworkID": "",
                "NetworkCreated": False,
                "DisableNewNetwork": False,
                "InterworkingModel": 0,
            },
            "HypervisorConfig": {"BlockDeviceDriver": block_driver, "SharedFS": shared_fs},
            "ShmSize": 0,
            "SharePidNs": False,
            "Stateful": False,
            "SystemdCgroup": False,
            "SandboxCgroupOnly": False,
            "DisableGuestSeccomp": False,
            "EnableVCPUsPinning": False,
        },
        "PersistVersion": persist_version,
        "GuestMemoryBlockSizeMB": slot["GuestMemoryBlockSizeMB"],
        "GuestMemoryHotplugProbe": False,
    }
    text = go_json(doc)
    parts: list[str] = []
    for name in _SLOTS:  # slots appear in this order in the document
        before, text = text.split(f'"\\u0000{name}\\u0000"', 1)
        parts.append(before)
    parts.append(text)
    return tuple(parts)


def encode_sandbox(rec: SandboxRecord, config_fragments: list[str]) -> str:
    """The sandbox document (Go `persistapi.SandboxState`). `config_fragments` are
    `encode_container_config` outputs, spliced in as text so that a save does not re-encode
    every container's config; devices likewise come from `device_fragment`'s cache."""
    parts = _sandbox_template(
        rec.id, rec.hypervisor_type, rec.block_driver, rec.shared_fs, rec.persist_version
    )
    values = (
        "[" + ",".join(device_fragment(d) for d in rec.devices) + "]" if rec.devices else "null",
        go_json(rec.state),
        "{" + ",".join(f'"{i}":{{}}' for i in sorted(rec.block_index_map)) + "}",
        go_json(rec.agent_url),
        "[" + ",".join(config_fragments) + "]" if config_fragments else "null",
        str(int(rec.guest_memory_block_size_mb)),
    )
    out = [parts[0]]
    for value, part in zip(values, parts[1:], strict=True):
        out.append(value)
        out.append(part)
    return "".join(out)
