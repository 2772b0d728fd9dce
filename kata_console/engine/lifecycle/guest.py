"""What the guest is told: agent storages and devices for a container (reference §2.4, §3.4),
and the `FsShare` port through which the host shares a rootfs with the guest.

These builders are pure functions of the container's devices and the block driver, so
the console can show the exact `CreateContainer` payload the Go runtime would send.
"""

from __future__ import annotations

import base64
import posixpath
from typing import Any, Protocol

from kata_console.engine.lifecycle.devices import AGENT_BLOCK_TYPE, BLOCK, Device, guest_address
from kata_console.engine.ports import GuestDevice, Storage

KATA_GUEST_SHARED_DIR = "/run/kata-containers/shared/containers"
KATA_GUEST_DIR = "/run/kata-containers"
VIRTUAL_VOLUMES_DIR = "/run/kata-containers/virtual-volumes"
HOST_SHARED_DIR = "/run/kata-containers/shared/sandboxes"
LAYER_BASENAME = "layer.erofs"
RWLAYER_BASENAME = "rwlayer.img"
CREATE_DIR_OPTION = "io.katacontainers.volume.overlayfs.create_directory="


class FsShare(Protocol):
    """The host side of rootfs/mount sharing (Go `fsShare`), for virtio-fs rootfs.

    Kata bind-mounts the rootfs under the sandbox's shared dir; a read-only console never
    does, so the engine's default implementation only records (see `sim.SimFsShare`).
    """

    async def share_rootfs(self, sandbox_id: str, container_id: str, source: str) -> str:
        """Share the container's rootfs; returns the host path it is shared at."""
        ...

    async def unshare_rootfs(self, sandbox_id: str, container_id: str) -> None: ...

    async def unshare_mounts(self, sandbox_id: str, container_id: str) -> None: ...


def host_rootfs_share_path(sandbox_id: str, container_id: str) -> str:
    return f"{HOST_SHARED_DIR}/{sandbox_id}/mounts/{container_id}/rootfs"


def virtual_volume_mount_point(source: str) -> str:
    """`/run/kata-containers/virtual-volumes/<base64url(source)>` (padded, as Go's URLEncoding)."""
    encoded = base64.urlsafe_b64encode(source.encode()).decode()
    return f"{VIRTUAL_VOLUMES_DIR}/{encoded}"


def block_volume(device: Device, driver: str) -> Storage:
    """Go `handleBlockVolume`: a storage for a plugged block device."""
    drive = device.drive
    if drive is None:
        raise ValueError(f"device {device.id} has no block drive (not attached)")
    storage_driver = "nvdimm" if drive.pmem else AGENT_BLOCK_TYPE.get(driver, "scsi")
    return Storage(
        driver=storage_driver, source=guest_address(drive, driver), fstype="", mount_point=""
    )


def erofs_storages(
    container_id: str, devices: list[tuple[Device, str]], driver: str
) -> tuple[list[Storage], dict[str, str]]:
    """Go `shareRootFilesystemWithErofs`: storages `[layers..., rwlayer?, overlay]` and the
    container-path rewrites (device id -> virtual-volume mount point) that keep the layer
    devices out of the OCI device list. `devices` are (device, container_path) in order."""
    storages: list[Storage] = []
    rewrites: dict[str, str] = {}
    lowers: list[str] = []
    rw: Storage | None = None
    for device, container_path in devices:
        base = posixpath.basename(container_path)
        if base not in (LAYER_BASENAME, RWLAYER_BASENAME):
            continue
        vol = block_volume(device, driver)
        if base == LAYER_BASENAME:
            vol.fstype = "erofs"
            vol.options.append("ro")
        else:
            vol.fstype = "ext4"
        vol.mount_point = virtual_volume_mount_point(vol.source)
        rewrites[device.id] = vol.mount_point
        storages.append(vol)
        if base == LAYER_BASENAME:
            lowers.append(vol.mount_point)
        else:
            rw = vol
    if rw is not None:
        upper, work = f"{rw.mount_point}/upper", f"{rw.mount_point}/work"
    else:
        upper = f"{KATA_GUEST_DIR}/{container_id}/fs"
        work = f"{KATA_GUEST_DIR}/{container_id}/work"
    storages.append(
        Storage(
            driver="overlayfs",
            source="overlay",
            fstype="overlay",
            mount_point=guest_rootfs_path(container_id, erofs=True),
            options=[f"lowerdir={':'.join(lowers)}", f"upperdir={upper}", f"workdir={work}"],
            driver_options=[CREATE_DIR_OPTION + upper, CREATE_DIR_OPTION + work],
        )
    )
    return storages, rewrites


def block_rootfs_storage(container_id: str, device: Device, driver: str, fstype: str) -> Storage:
    """The storage a hot-plugged block rootfs is mounted from (`nouuid` for xfs)."""
    vol = block_volume(device, driver)
    vol.mount_point = f"{KATA_GUEST_SHARED_DIR}/{container_id}"
    vol.fstype = fstype
    if fstype == "xfs":
        vol.options.append("nouuid")
    return vol


def guest_rootfs_path(container_id: str, *, erofs: bool = False) -> str:
    if erofs:
        return f"{KATA_GUEST_DIR}/{container_id}/rootfs"
    return f"{KATA_GUEST_SHARED_DIR}/{container_id}/rootfs"


def agent_devices(devices: list[tuple[Device, str]], driver: str) -> list[GuestDevice]:
    """Go `appendDevices`: one agent Device per plugged block device, except virtual volumes."""
    out: list[GuestDevice] = []
    for device, container_path in devices:
        if container_path.startswith(VIRTUAL_VOLUMES_DIR + "/") or device.type != BLOCK:
            continue
        if device.drive is None:
            continue
        out.append(
            GuestDevice(
                id=guest_address(device.drive, driver),
                type=AGENT_BLOCK_TYPE.get(driver, "scsi"),
                vm_path=device.drive.virt_path,
                container_path=container_path,
            )
        )
    return out


def oci_spec(
    container_id: str,
    root_path: str,
    annotations: dict[str, str],
    memory: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The minimal OCI spec the engine sends (the real one comes from the bundle). Go's
    `initConfigResourcesMemory` shares the container's memory resources with the spec, so
    the swap annotations reach the guest in `linux.resources.memory`."""
    spec: dict[str, Any] = {
        "ociVersion": "1.1.0",
        "root": {"path": root_path},
        "annotations": dict(annotations),
        "hostname": container_id,
    }
    if memory:
        spec["linux"] = {"resources": {"memory": dict(memory)}}
    return spec


def merge_resources(current: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Go `update`: non-zero CPU period/quota, non-empty cpus/mems and a memory limit win."""
    merged = {k: dict(v) if isinstance(v, dict) else v for k, v in current.items()}
    cpu = dict(merged.get("cpu") or {})
    for key in ("period", "quota"):
        if (new.get("cpu") or {}).get(key):
            cpu[key] = new["cpu"][key]
    for key in ("cpus", "mems"):
        if (new.get("cpu") or {}).get(key):
            cpu[key] = new["cpu"][key]
    merged["cpu"] = cpu
    memory = dict(merged.get("memory") or {})
    if (new.get("memory") or {}).get("limit") is not None:
        memory["limit"] = new["memory"]["limit"]
    merged["memory"] = memory
    return merged


def guest_resources(resources: dict[str, Any]) -> dict[str, Any]:
    """Host CPU/NUMA numbering means nothing in the guest: Go clears cpus and mems."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in resources.items()}
    if isinstance(out.get("cpu"), dict):
        out["cpu"]["cpus"] = ""
        out["cpu"]["mems"] = ""
    return out
