"""Between the engine's objects and Kata's persist documents (Go `Sandbox.Save`'s dump*
functions and the `load*` functions of restore).

A document starts from what was read from disk (a restored sandbox, container or device
keeps every field it read, including those the engine does not model: network endpoints,
hypervisor UUID, pid and bridges, cgroup paths, ShmSize, VFIO details...) or, for a new
object, from Go's zero values; the fields the engine owns are then written over it, as Go's
dump functions write theirs. Encoded text is cached where it rarely changes (device
entries, container configs, the static parts of the sandbox document) so that a save costs
little more than the join and the write.

Go never persists a PCI path (`types.PciPath` encodes as `{}`). The console still needs a
virtio-blk drive's guest PCI path after a restore: it is recomputed from what Go does
persist, the hypervisor's bridges (`HypervisorState.Bridges[].DeviceAddr`: slot -> drive
ID), as `<bridge addr>/<slot>` in hex, which is how QEMU's hot-plug derives it.
"""

from __future__ import annotations

import bisect
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


def device_fragment(dev: Device) -> Fragment:
    """`device_doc` encoded, cached on the device while its counters and drive stand."""
    key = (dev.refcount, dev.attach_count, id(dev.drive))
    cached = dev.persist_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    text = Fragment(encode(api.DEVICE_STATE, device_doc(dev)))
    dev.persist_cache = (key, text)
    return text


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
        DeviceMaps=_device_maps(c),
        Mounts=[dict(m) for m in c.mounts] if c.mounts else None,
    )
    return doc


def _device_maps(c: Container) -> Fragment:
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
    return {
        "Annotations": dict(c.config.annotations) or None,
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


#: placeholders for the two lists that grow with the sandbox; a NUL never survives the
#: encoder inside a string (it is written \u0000), so these cannot clash with data
_DEVICES, _CONFIGS = Fragment("\x00D\x00"), Fragment("\x00C\x00")


def _bracketed(entries: Any) -> tuple[bytes, ...]:
    """`[a,b,c]` from encoded entries, as chunks: the entries are joined once, in C."""
    return (b"[", b",".join(entries), b"]")


class SandboxDocument:
    """The sandbox's persist.json: the base read from disk (or Go's zero document for a
    new sandbox) with the engine's fields laid over it at each save.

    With a thousand containers the document lists a thousand devices and configs, a
    megabyte; a save must not re-encode, nor even re-join, all of it. The two lists are
    kept as UTF-8 bytes per entry, refreshed for the devices the manager reports changed
    and the containers whose config changed; the rest of the document (a few KiB) is
    encoded around two placeholders and the file is written as chunks, so each big list is
    joined once and never copied into a whole-file string."""

    def __init__(self, base: dict[str, Any]) -> None:
        self.base = base
        self._static: dict[str, Fragment] = {}
        self._hs_key: Any = None
        self._manager: Any = None
        self._devices: dict[str, bytes] = {}
        self._device_chunk: tuple[bytes, ...] | None = None
        self._config_frags: dict[str, bytes] = {}
        self._configs: tuple[int, tuple[bytes, ...] | None] = (-1, None)
        self._block_entries: list[str] = []  # `"<index>":{}`, sorted as Go sorts the keys
        self._block_map: tuple[int, Fragment] = (-1, Fragment("{}"))

    def _fragment(self, name: str, schema: Any, value: Any) -> Fragment:
        """A part the engine never changes, encoded once."""
        text = self._static.get(name)
        if text is None:
            text = self._static[name] = Fragment(encode(schema, value))
        return text

    def _device_list(self, sb: Sandbox) -> tuple[bytes, ...] | None:
        manager = sb.devices
        if manager is not self._manager:  # a new table (delete, restore): start over
            self._manager, self._device_chunk = manager, None
            self._devices = {i: device_fragment(d).encode() for i, d in manager.devices.items()}
            manager.changed = {}
        if manager.changed or self._device_chunk is None:
            # touched in order, so new devices are appended in the manager's own order
            for dev_id in manager.changed:
                dev = manager.devices.get(dev_id)
                if dev is None:
                    self._devices.pop(dev_id, None)
                else:
                    self._devices[dev_id] = device_fragment(dev).encode()
            manager.changed = {}
            self._device_chunk = _bracketed(self._devices.values())
        return self._device_chunk if self._devices else None

    def _config_list(self, sb: Sandbox) -> tuple[bytes, ...] | None:
        rev = self._configs[0]
        if rev != sb.configs_rev:
            known = self._config_frags
            if rev < 0:  # a new document: everything, in the sandbox's order
                known.update(
                    (cid, c.config_fragment().encode()) for cid, c in sb.containers.items()
                )
            else:  # changed in order, so new containers are appended in the sandbox's order
                for cid in sb.configs_dirty:
                    c = sb.containers.get(cid)
                    if c is None:
                        known.pop(cid, None)
                    else:
                        known[cid] = c.config_fragment().encode()
            sb.configs_dirty = {}
            self._configs = (sb.configs_rev, _bracketed(known.values()) if known else None)
        return self._configs[1]

    def _block_index_map(self, sb: Sandbox) -> Fragment:
        """Go writes the map's keys sorted as strings ("0","1","10","2"); the entries are
        kept sorted as indexes come and go."""
        rev, text = self._block_map
        if rev != sb.block_index_rev:
            entries = self._block_entries
            if rev < 0 or sb.block_index_changed is None:
                entries[:] = sorted(f'"{i}":{{}}' for i in sb.block_index_map)
            else:
                for index in sb.block_index_changed:
                    entry = f'"{index}":{{}}'
                    at = bisect.bisect_left(entries, entry)
                    present = at < len(entries) and entries[at] == entry
                    if index in sb.block_index_map and not present:
                        entries.insert(at, entry)
                    elif index not in sb.block_index_map and present:
                        del entries[at]
            sb.block_index_changed = set()
            text = Fragment("{" + ",".join(entries) + "}")
            self._block_map = (sb.block_index_rev, text)
        return text

    def _hypervisor(self, sb: Sandbox) -> Fragment:
        """Go dumpHypervisor: the hypervisor's own Save() (or what was read, when this
        process never ran the VM) with the block index map; re-encoded when either moved."""
        own = _hypervisor_state(sb)
        block_map = self._block_index_map(sb)
        key = (own, block_map)
        cached = self._static.get("HypervisorState")
        if cached is None or self._hs_key != key:
            hs = dict(self.base["HypervisorState"]) if own is None else dict(own)
            hs["BlockIndexMap"] = block_map
            cached = self._static["HypervisorState"] = Fragment(encode(api.HYPERVISOR_STATE, hs))
            self._hs_key = key
        return cached

    def _config(self, with_configs: bool) -> Fragment:
        """Config is the engine's only in its ContainerConfigs (a placeholder here)."""
        name = f"Config{with_configs}"
        cached = self._static.get(name)
        if cached is None:
            config = dict(self.base["Config"])
            config["ContainerConfigs"] = _CONFIGS if with_configs else None
            cached = self._static[name] = Fragment(encode(api.SANDBOX_CONFIG, config))
        return cached

    def encode(self, sb: Sandbox) -> list[bytes]:
        """The file's bytes, in chunks, ending with the Encoder's newline."""
        base = self.base
        devices, configs = self._device_list(sb), self._config_list(sb)
        doc = dict(base)
        doc.update(
            Devices=_DEVICES if devices is not None else None,
            State=sb.state,
            SandboxContainer=sb.id,
            HypervisorState=self._hypervisor(sb),
            AgentState={**base["AgentState"], "URL": sb.agent_url},
            Network=self._fragment("Network", api.NETWORK_INFO, base["Network"]),
            Config=self._config(configs is not None),
            PersistVersion=sb.persist_version,
            GuestMemoryBlockSizeMB=sb.guest_memory_block_size_mb,
        )
        text = encode(api.SANDBOX_STATE, doc) + "\n"
        chunks: list[bytes] = []
        for piece, big in ((_DEVICES, devices), (_CONFIGS, configs)):
            if big is not None:
                head, text = text.split(piece, 1)
                chunks.append(head.encode())
                chunks += big
        chunks.append(text.encode())
        return chunks


def _hypervisor_state(sb: Sandbox) -> dict[str, Any] | None:
    save = getattr(sb.hypervisor, "save_state", None)
    return save() if save is not None else None


def restore_sandbox_fields(sb: Sandbox, doc: dict[str, Any]) -> None:
    """Go loadState/loadHypervisor/loadDevices/loadAgent for the sandbox document."""
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
