"""The bytes of the persist files, cheaply: a save must cost little more than the write.

With a thousand containers the sandbox document lists a thousand devices and configs, a
megabyte; most saves change a counter or a state. So the parts that rarely change stay
encoded between saves: each device entry as text around its two counters, each container
file as text around its state, the device and config lists as UTF-8 chunks refreshed for
what the device manager and the sandbox report changed, and the rest of the sandbox
document around placeholders. A property test checks the files against a fresh encode
after random operations (tests/test_persist.py).
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

from kata_console.engine.lifecycle.devices import Device
from kata_console.engine.lifecycle.persistdocs import container_doc, device_doc, device_maps
from kata_console.engine.persist import api
from kata_console.engine.persist.gojson import Fragment, encode, encode_string

if TYPE_CHECKING:
    from kata_console.engine.lifecycle.container import Container
    from kata_console.engine.lifecycle.sandbox import Sandbox

#: stand-ins for values filled in at each save. A NUL inside a string is written \u0000 by
#: the encoder, and the counters are uints, so none of these can occur in real data.
_REF, _ATT = -7_777_777_777_777_771, -7_777_777_777_777_772
_COUNTERS = f'"RefCount":{_REF},"AttachCount":{_ATT}'
_STATE = "\x00S\x00"
_DEVICES, _CONFIGS, _BLOCKS = Fragment("\x00D\x00"), Fragment("\x00C\x00"), Fragment("\x00B\x00")


def device_fragment(dev: Device) -> Fragment:
    """The device's DeviceState: its text is kept around the two counters while the
    device keeps its drive (everything else of a device is fixed for its life)."""
    cached = dev.persist_cache
    if cached is None or cached[0] is not dev.drive:
        doc = device_doc(dev)
        doc["RefCount"], doc["AttachCount"] = _REF, _ATT
        head, tail = encode(api.DEVICE_STATE, doc).split(_COUNTERS)
        cached = dev.persist_cache = (dev.drive, (head, tail))
    head, tail = cached[1]
    return Fragment(f'{head}"RefCount":{dev.refcount},"AttachCount":{dev.attach_count}{tail}')


def container_text(c: Container) -> str:
    """The container's file: kept around its state while the rest of it stands."""
    p = c.process
    maps = device_maps(c)
    key = (
        c.cgroup_path,
        c.block_device_id,
        c.fstype,
        p.token,
        p.pid,
        p.start_time_text,
        p.start_time,
        id(maps),
        id(c.mounts),
        id(c.persisted),
    )
    cached = c.text_cache
    if cached is None or cached[0] != key:
        doc = container_doc(c)
        doc["State"] = _STATE
        head, tail = encode(api.CONTAINER_STATE, doc).split(encode_string(_STATE))
        cached = c.text_cache = (key, (head, tail))
    head, tail = cached[1]
    return head + encode_string(c.state) + tail


def _bracketed(entries: Any) -> tuple[bytes, ...]:
    """`[a,b,c]` as chunks, the entries joined once in C (a writev of a thousand small
    entries costs the kernel more than one join costs us)."""
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
        self._orphans: list[bytes] | None = None
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
            if self._orphans is None:  # read at restore, never changed: encoded once
                self._orphans = [
                    encode(api.CONTAINER_CONFIG, cfg).encode() for cfg in sb.orphan_configs
                ]
            entries = [*known.values(), *self._orphans]
            self._configs = (sb.configs_rev, _bracketed(entries) if entries else None)
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
        process never ran the VM), encoded again only when that changed; the block index
        map is spliced in at its placeholder."""
        own = _hypervisor_state(sb)
        cached = self._static.get("HypervisorState")
        if cached is None or self._hs_key != own:
            hs = dict(self.base["HypervisorState"]) if own is None else dict(own)
            hs["BlockIndexMap"] = _BLOCKS
            cached = self._static["HypervisorState"] = Fragment(encode(api.HYPERVISOR_STATE, hs))
            self._hs_key = own
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
        head, tail = encode(api.SANDBOX_STATE, doc).split(_BLOCKS, 1)
        text = head + self._block_index_map(sb) + tail + "\n"
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
