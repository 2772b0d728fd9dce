"""A sandbox's devices as persist.json has them, next to what the host shows for the same
backing file: Kata's side (refcount, attach count, block index, SCSI address or PCI path)
and the host's (the erofs mount and loop device holding that `layer.erofs`).

The rows have the keys of `play`'s device table, plus `host`; the guest address is worked
out as the engine works it out (a virtio-blk PCI path from the hypervisor's bridge slots,
since Go never persists it).
"""

from __future__ import annotations

from typing import Any

from kata_console.engine.lifecycle.devices import guest_address, normalize_block_driver
from kata_console.engine.lifecycle.persistdocs import device_from_doc, pci_paths_from_bridges
from kata_console.engine.mounts.chainmodel import ChainReport


def device_rows(
    doc: dict[str, Any],
    chains: ChainReport | None,
    cache: dict[int, dict[str, dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """One row per DeviceState of the sandbox document. `cache` keeps the backing-file
    index per chain report: sandboxes sharing the host's table share one index (building it
    per sandbox made inspect quadratic in sandboxes x erofs mounts)."""
    driver = normalize_block_driver(doc["Config"]["HypervisorConfig"]["BlockDeviceDriver"])
    pci = pci_paths_from_bridges(doc["HypervisorState"]["Bridges"])
    if cache is None:
        holders = _holders(chains)
    else:
        key = id(chains)
        if key not in cache:
            cache[key] = _holders(chains)
        holders = cache[key]
    rows = []
    for raw in doc["Devices"] or ():
        dev = device_from_doc(raw)
        drive = dev.drive
        if drive is not None and drive.id in pci:
            drive.pci_path = pci[drive.id]
        plugged = drive is not None and dev.attach_count > 0
        host_path = drive.file if drive is not None else ""
        rows.append(
            {
                "id": dev.id,
                "host_path": host_path,
                "kind": dev.type,
                "refcount": dev.refcount,
                "attach_count": dev.attach_count,
                "index": drive.index if plugged and drive else None,
                "address": guest_address(drive, driver) if plugged and drive else None,
                "read_only": dev.info.read_only,
                "host": holders.get(host_path) if host_path else None,
            }
        )
    return rows


def _holders(chains: ChainReport | None) -> dict[str, dict[str, Any]]:
    """backing file -> the host's side: the erofs mount(s) and the device holding it."""
    out: dict[str, dict[str, Any]] = {}
    if chains is None:
        return out
    for m in chains.erofs_mounts:
        if not m.backing_file:
            continue
        entry = out.setdefault(
            m.backing_file,
            {
                "mounts": [],
                "device": m.device.name if m.device is not None else None,
                "majmin": m.majmin,
                "status": m.status,
                "reason": m.reason,
            },
        )
        entry["mounts"].append(m.target)
    return out
