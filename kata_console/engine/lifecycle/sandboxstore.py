"""Between a live `Sandbox` and its persist files: incremental save, and restore.

Go rewrites every file on every save; with hundreds of containers that is quadratic. We
write the same documents, but only those whose inputs changed since the last save: the
sandbox file when its state, block index map, container set or device table changed
(the device manager's revision says so), a container's file when that container
changed, and we remove a departed container's directory when it leaves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kata_console.engine.lifecycle.container import Container, ContainerConfig, Process
from kata_console.engine.mounts.rootfs import RootFs
from kata_console.engine.persist.decode import decode_container, decode_sandbox
from kata_console.engine.persist.schema import SandboxRecord, encode_container, encode_sandbox
from kata_console.engine.persist.store import PersistStore

if TYPE_CHECKING:
    from kata_console.engine.lifecycle.sandbox import Sandbox


def sandbox_record(sb: Sandbox) -> SandboxRecord:
    return SandboxRecord(
        id=sb.id,
        state=sb.state,
        block_index_map=sb.block_index_map,
        devices=sb.devices.get_all_devices(),
        agent_url=sb.agent_url,
        hypervisor_type=sb.config.hypervisor_type,
        block_driver=sb.devices.block_driver,
        shared_fs=sb.config.shared_fs,
        guest_memory_block_size_mb=sb.guest_memory_block_size_mb,
        persist_version=sb.persist_version,
    )


async def save_sandbox(sb: Sandbox, store: PersistStore) -> None:
    """One `persist` log event per save (files written, duration) rather than a step: a
    save is bookkeeping that a step-through should not stop at."""
    dirty = sb._dirty or sb._saved_devices_rev != sb.devices.revision
    if not (dirty or sb._dirty_containers or sb._removed):
        return
    t0 = sb.clock.monotonic()
    written: list[str] = []
    try:
        for cid in sorted(sb._removed):
            store.remove_container(sb.id, cid)
        sb._removed.clear()
        for cid in sorted(sb._dirty_containers):
            c = sb.containers.get(cid)
            if c is not None:
                written.append(store.write_container(sb.id, cid, encode_container(c.record())))
        sb._dirty_containers.clear()
        if dirty:
            fragments = [c.config_fragment() for c in sb.containers.values()]
            written.append(
                store.write_sandbox(sb.id, encode_sandbox(sandbox_record(sb), fragments))
            )
            sb._dirty = False
            sb._saved_devices_rev = sb.devices.revision
    except Exception as exc:
        sb.bus.log("error", f"save failed: {exc}", subsystem="persist", sandbox=sb.id)
        raise
    sb.bus.log(
        "debug",
        f"saved {len(written)} file(s)",
        subsystem="persist",
        sandbox=sb.id,
        files=written,
        duration=sb.clock.monotonic() - t0,
    )


def restore_sandbox(store: PersistStore, sandbox_id: str, **ports: Any) -> Sandbox:
    """Rebuild a sandbox from its persist files (Go `fetchSandbox`), e.g. one a Go shim
    wrote under /run/vc/sbs. `ports` are `Sandbox`'s keyword arguments (agent, hypervisor,
    ...). What Go does not persist stays lost (rootfs source/type/options, PCI paths in Go
    files, a device's host path unless it was plugged)."""
    from kata_console.engine.lifecycle.sandbox import Sandbox, SandboxConfig

    doc, container_docs = store.read(sandbox_id)
    directory = store.sandbox_dir(sandbox_id)
    rec = decode_sandbox(directory / "persist.json", doc)
    config = SandboxConfig(
        sandbox_id,
        hypervisor_type=rec.hypervisor_type or "unknown",
        block_device_driver=rec.block_driver,
        shared_fs=rec.shared_fs,
    )
    sb = Sandbox(config, store=store, **ports)
    sb.state = rec.state
    if rec.persist_version:  # Go dumpVersion: a restored sandbox keeps its version
        sb.persist_version = rec.persist_version
    sb.block_index_map = set(rec.block_index_map)
    sb.devices.load_devices(rec.devices)
    sb.agent_url = rec.agent_url
    sb.guest_memory_block_size_mb = rec.guest_memory_block_size_mb
    for cfg in rec.container_configs:
        cdoc = container_docs.get(cfg.id)
        if cdoc is None:
            sb.log("warning", f"container {cfg.id} has no persist.json; skipped", container=cfg.id)
            continue
        crec = decode_container(directory / cfg.id / "persist.json", cdoc)
        c = Container(
            sb,
            ContainerConfig(
                cfg.id,
                RootFs(target=cfg.rootfs),
                annotations=dict(cfg.annotations or {}),
                resources=dict(cfg.resources),
            ),
        )
        c.state = crec.state
        c.devices = list(crec.device_maps)
        c.process = Process(crec.token, crec.pid, crec.start_time)
        c.block_device_id, c.fstype, c.mounts = crec.block_device_id, crec.fstype, crec.mounts
        for cd in c.devices:
            dev = sb.devices.get_device_by_id(cd.id)
            if dev is not None and not dev.info.container_path:
                dev.info.container_path = cd.container_path
        sb.containers[c.id] = c
    sb._dirty = False
    sb._saved_devices_rev = sb.devices.revision
    return sb
