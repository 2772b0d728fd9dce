"""Between a live `Sandbox` and its persist files: incremental save, and restore.

Go rewrites every file on every save; with hundreds of containers that is quadratic. We
write the same documents (Go's `json.Marshal` of the persistapi structs, byte for byte),
but a file only when its content changed since it was last written, and once per engine
operation rather than once per step: the sandbox file when its state, block index map,
container set or device table changed (the device manager's revision says so), a
container's file when that container changed; a departed container's directory is removed
when it leaves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kata_console.engine.lifecycle.container import Container, ContainerConfig
from kata_console.engine.lifecycle.persistdocs import (
    new_sandbox_doc,
    restore_container_fields,
    restore_sandbox_fields,
)
from kata_console.engine.lifecycle.persistfile import SandboxDocument, container_text
from kata_console.engine.mounts.rootfs import RootFs
from kata_console.engine.persist import api
from kata_console.engine.persist.gojson import GoJSONError, decode
from kata_console.engine.persist.store import PersistError, PersistStore

if TYPE_CHECKING:
    from kata_console.engine.lifecycle.sandbox import Sandbox


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
            sb._written.pop(cid, None)
        sb._removed.clear()
        for cid in sorted(sb._dirty_containers):
            c = sb.containers.get(cid)
            if c is None:
                continue
            text = container_text(c)
            if sb._written.get(cid) != text:
                written.append(store.write_container(sb.id, cid, text))
                sb._written[cid] = text
        sb._dirty_containers.clear()
        if dirty:
            if sb.document is None:
                sb.document = SandboxDocument(new_sandbox_doc(sb))
            chunks = sb.document.encode(sb)
            if sb._written.get("") != chunks:
                written.append(store.write_sandbox(sb.id, chunks))
                sb._written[""] = chunks
            sb._dirty = False
            sb._saved_devices_rev = sb.devices.revision
    except Exception as exc:
        sb.bus.log("error", f"save failed: {exc}", subsystem="persist", sandbox=sb.id)
        raise
    if written:
        sb.bus.log(
            "debug",
            f"saved {len(written)} file(s)",
            subsystem="persist",
            sandbox=sb.id,
            files=written,
            duration=sb.clock.monotonic() - t0,
        )


def read_documents(
    store: PersistStore, sandbox_id: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Go `FromDisk`, decoded as Go decodes (`json.Decoder` into the persistapi structs):
    a wrong type anywhere fails the file, with Go's own text after the file's path."""
    raw_sandbox, raw_containers = store.read_bytes(sandbox_id)
    directory = store.sandbox_dir(sandbox_id)

    def one(path: Any, schema: Any, data: bytes) -> dict[str, Any]:
        try:
            return decode(schema, data)
        except GoJSONError as exc:
            raise PersistError(f"{path}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise PersistError(f"{path}: not UTF-8: {exc.reason}") from None

    doc = one(directory / "persist.json", api.SANDBOX_STATE, raw_sandbox)
    containers = {
        cid: one(directory / cid / "persist.json", api.CONTAINER_STATE, data)
        for cid, data in raw_containers.items()
    }
    return doc, containers


def restore_sandbox(store: PersistStore, sandbox_id: str, **ports: Any) -> Sandbox:
    """Rebuild a sandbox from its persist files (Go `fetchSandbox`), e.g. one a Go shim
    wrote under /run/vc/sbs. `ports` are `Sandbox`'s keyword arguments (agent, hypervisor,
    ...). Every field read is kept for the next save; what Go does not persist stays lost
    (rootfs source/type/options, a device's host path unless it was plugged), except the
    PCI path of a virtio-blk drive, recomputed from the hypervisor's bridges."""
    from kata_console.engine.lifecycle.sandbox import Sandbox, SandboxConfig

    doc, container_docs = read_documents(store, sandbox_id)
    config = doc["Config"]
    hv_config = config["HypervisorConfig"]
    sb = Sandbox(
        SandboxConfig(
            sandbox_id,
            hypervisor_type=config["HypervisorType"] or doc["HypervisorState"]["Type"] or "unknown",
            block_device_driver=hv_config["BlockDeviceDriver"],
            shared_fs=hv_config["SharedFS"],
            disable_block_device_use=hv_config["DisableBlockDeviceUse"],
        ),
        store=store,
        **ports,
    )
    restore_sandbox_fields(sb, doc)
    for cfg in config["ContainerConfigs"] or ():
        cdoc = container_docs.get(cfg["ID"])
        if cdoc is None or cfg["ID"] in sb.containers:
            # Go would create it anew; this engine keeps its config for the next save
            # (nothing read is dropped) but cannot run a container it has no state of
            sb.orphan_configs.append(cfg)
            sb.log(
                "warning",
                f"container {cfg['ID']} has no persist.json (or a second config entry); "
                "its config is kept, the container is not restored",
                container=cfg["ID"],
            )
            continue
        c = Container(
            sb,
            ContainerConfig(
                cfg["ID"],
                RootFs(target=cfg["RootFs"]),
                annotations=dict(cfg["Annotations"] or {}),
                resources=cfg["Resources"],
            ),
        )
        c.persisted_config = cfg
        restore_container_fields(c, cdoc)
        for cd in c.devices:
            dev = sb.devices.get_device_by_id(cd.id)
            if dev is not None and not dev.info.container_path:
                dev.info.container_path = cd.container_path
        sb.containers[c.id] = c
    sb._dirty = False
    sb._saved_devices_rev = sb.devices.revision
    return sb
