"""Between the engine's objects and Kata's persist documents (Go `Sandbox.Save`'s dump*
functions and the `load*` functions of restore).

A document starts from what was read from disk (a restored sandbox, container or device
keeps every field it read, including those the engine does not model: network endpoints,
hypervisor UUID, pid and bridges, cgroup paths, ShmSize, VFIO details...) or, for a new
object, from Go's zero values; the fields the engine owns are then written over it, as Go's
dump functions write theirs. `persistfile` turns these documents into the files' bytes and
keeps what rarely changes encoded between saves.

Go never persists a PCI path (`types.PciPath` encodes as `{}`). The console still needs a
virtio-blk drive's guest PCI path after a restore: it is recomputed from what Go does
persist, the hypervisor's bridges (`HypervisorState.Bridges[].DeviceAddr`: slot -> drive
ID), as `<bridge addr>/<slot>` in hex, which is how QEMU's hot-plug derives it.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from kata_console.engine.deviceinfo import DeviceInfo
from kata_console.engine.lifecycle.devices import BlockDrive, ContainerDevice, Device
from kata_console.engine.persist import api
from kata_console.engine.persist.gojson import Fragment, encode, format_time, parse_time

if TYPE_CHECKING:
    from kata_console.engine.lifecycle.container import Container
    from kata_console.engine.lifecycle.sandbox import Sandbox

# --------------------------------------------------------------------------- devices


def block_drive_doc(d: BlockDrive) -> dict[str, Any]:
    return {
        "File": d.file,
        "Format": d.format,
        "ID": d.id,
        "MmioAddr": d.mmio_addr,
        "SCSIAddr": d.scsi_addr,
        "NvdimmID": d.nvdimm_id,
        "VirtPath": d.virt_path,
        "DevNo": d.dev_no,
        "PCIPath": {},  # Go: no exported field, always {}
        "Index": d.index,
        "ShareRW": d.share_rw,
        "ReadOnly": d.read_only,
        "DiscardUnmap": d.discard_unmap,
        "Pmem": d.pmem,
        "Swap": d.swap,
    }


def device_doc(dev: Device) -> dict[str, Any]:
    """Go `Device.Save`: GenericDevice's fields, the BlockDrive of a block device (kept
    after a detach, as Go keeps it), and whatever else was read for this device."""
    doc = dict(dev.persisted) if dev.persisted else {}
    doc.update(
        DriverOptions=(dev.driver_options or dev.info.driver_options) or None,
        ID=dev.id,
        Type=dev.type,
        DevType=dev.info.dev_type,
        RefCount=dev.refcount,
        AttachCount=dev.attach_count,
        Major=dev.info.major,
        Minor=dev.info.minor,
        ColdPlug=dev.info.cold_plug,
    )
    if dev.drive is not None:
        doc["BlockDrive"] = block_drive_doc(dev.drive)
    return doc


def device_from_doc(doc: dict[str, Any]) -> Device:
    """Go `LoadDevices` for one DeviceState (its host path lives only in BlockDrive)."""
    bd = doc.get("BlockDrive")
    drive = None
    if bd is not None:
        drive = BlockDrive(
            file=bd["File"],
            id=bd["ID"],
            index=bd["Index"],
            format=bd["Format"],
            mmio_addr=bd["MmioAddr"],
            scsi_addr=bd["SCSIAddr"],
            nvdimm_id=bd["NvdimmID"],
            virt_path=bd["VirtPath"],
            dev_no=bd["DevNo"],
            share_rw=bd["ShareRW"],
            read_only=bd["ReadOnly"],
            discard_unmap=bd["DiscardUnmap"],
            pmem=bd["Pmem"],
            swap=bd["Swap"],
        )
    options = dict(doc["DriverOptions"] or {})
    info = DeviceInfo(
        host_path=drive.file if drive else "",
        container_path="",
        dev_type=doc["DevType"],
        major=doc["Major"],
        minor=doc["Minor"],
        read_only=drive.read_only if drive else False,
        driver_options=options,
        pmem=drive.pmem if drive else False,
        cold_plug=doc["ColdPlug"],
    )
    return Device(
        id=doc["ID"],
        type=doc["Type"],
        info=info,
        refcount=doc["RefCount"],
        attach_count=doc["AttachCount"],
        drive=drive,
        driver_options=options,
        persisted=doc,
    )


def pci_paths_from_bridges(bridges: list[dict[str, Any]] | None) -> dict[str, str]:
    """drive ID -> guest PCI path (`02/01`), from the bridges' slot allocations."""
    out: dict[str, str] = {}
    for bridge in bridges or ():
        for slot, drive_id in (bridge.get("DeviceAddr") or {}).items():
            out[drive_id] = f"{int(bridge.get('Addr') or 0):02x}/{int(slot):02x}"
    return out


# --------------------------------------------------------------------------- containers


def container_doc(c: Container) -> dict[str, Any]:
    """Go dumpState/dumpDevices/dumpProcess/dumpMounts for one container."""
    doc = dict(c.persisted) if c.persisted else {}  # missing fields encode as Go's zero
    p = c.process
    if p.start_time_text is None:
        p.start_time_text = format_time(p.start_time)
    doc.update(
        State=c.state,
        CgroupPath=c.cgroup_path,
        Rootfs={"BlockDeviceID": c.block_device_id, "FsType": c.fstype},
        Process={"StartTime": p.start_time_text, "Token": p.token, "Pid": p.pid},
        DeviceMaps=device_maps(c),
        Mounts=[dict(m) for m in c.mounts] if c.mounts else None,
    )
    return doc


def device_maps(c: Container) -> Fragment:
    """The container's DeviceMaps, encoded again only when a device reference changed."""
    key = tuple((d.id, d.container_path, d.file_mode, d.uid, d.gid, d.shared) for d in c.devices)
    cached = c.maps_cache
    if cached is None or cached[0] != key:
        maps = [
            {"ID": i, "ContainerPath": path, "FileMode": m, "UID": u, "GID": g, "Shared": s}
            for i, path, m, u, g, s in key
        ]
        cached = c.maps_cache = (
            key,
            Fragment(encode(api.CONTAINER_STATE_DEVICE_MAPS, maps or None)),
        )
    return cached[1]


def container_config_doc(c: Container) -> dict[str, Any]:
    """One `Config.ContainerConfigs` entry: Go keeps the rootfs Target only."""
    annotations: dict[str, str] | None = dict(c.config.annotations) or None
    if annotations is None and c.persisted_config is not None:
        read = c.persisted_config["Annotations"]
        annotations = {} if read is not None and not read else None  # Go keeps {} as {}
    return {
        "Annotations": annotations,
        "Resources": c.config.resources,
        "ID": c.id,
        "RootFs": c.rootfs.target,
    }


def restore_container_fields(c: Container, doc: dict[str, Any]) -> None:
    """Go loadContState/loadContDevices/loadContProcess/loadContMounts."""
    from kata_console.engine.lifecycle.container import Process

    c.persisted = doc
    c.state = doc["State"]
    c.cgroup_path = doc["CgroupPath"]
    c.block_device_id = doc["Rootfs"]["BlockDeviceID"]
    c.fstype = doc["Rootfs"]["FsType"]
    proc = doc["Process"]
    c.process = Process(proc["Token"], proc["Pid"], parse_time(proc["StartTime"]))
    c.process.start_time_text = proc["StartTime"]
    c.devices = [
        ContainerDevice(m["ID"], m["ContainerPath"], m["FileMode"], m["UID"], m["GID"], m["Shared"])
        for m in doc["DeviceMaps"] or ()
    ]
    c.mounts = [dict(m) for m in doc["Mounts"]] if doc["Mounts"] is not None else None


# --------------------------------------------------------------------------- sandbox


def new_sandbox_doc(sb: Sandbox) -> dict[str, Any]:
    """What Go's dumps write for a sandbox created from this config: zero values except
    the configured hypervisor type, block driver and shared fs, and the agent config's
    LongLiveConn (the shim always sets it)."""
    doc = api.SANDBOX_STATE.zero()
    config = doc["Config"]
    config["KataAgentConfig"] = {"LongLiveConn": True}
    config["HypervisorType"] = sb.config.hypervisor_type
    hv = config["HypervisorConfig"]
    hv["BlockDeviceDriver"] = sb.config.block_device_driver or sb.devices.block_driver
    hv["SharedFS"] = sb.config.shared_fs
    hv["DisableBlockDeviceUse"] = sb.config.disable_block_device_use
    return doc


def restore_sandbox_fields(sb: Sandbox, doc: dict[str, Any]) -> None:
    """Go loadState/loadHypervisor/loadDevices/loadAgent for the sandbox document."""
    from kata_console.engine.lifecycle.persistfile import SandboxDocument

    sb.document = SandboxDocument(copy.copy(doc))
    sb.state = doc["State"]
    if doc["PersistVersion"]:  # Go dumpVersion: a restored sandbox keeps its version
        sb.persist_version = doc["PersistVersion"]
    hs = doc["HypervisorState"]
    sb.block_index_map = set(hs["BlockIndexMap"] or ())
    sb.block_index_changed = None  # the document rebuilds the map from scratch
    load = getattr(sb.hypervisor, "load_state", None)
    if load is not None:
        load(hs)
    devices = [device_from_doc(d) for d in doc["Devices"] or ()]
    paths = pci_paths_from_bridges(hs["Bridges"])
    for dev in devices:
        if dev.drive is not None and dev.drive.id in paths:
            dev.drive.pci_path = paths[dev.drive.id]
    sb.devices.load_devices(devices)
    sb.agent_url = doc["AgentState"]["URL"]
    sb.guest_memory_block_size_mb = doc["GuestMemoryBlockSizeMB"]
