"""Resolve a container's rootfs (lowerdirs + upperdir) into a `Chain`, mounted or not.

On a Kata host the shim never mounts the overlay on the host (the guest does), so most
containers have no overlay line in the mount table: only their erofs layers are mounted.
To show such a rootfs as a chain, we add the overlay the runtime would have mounted as a
synthetic mountinfo line and let the real resolver walk it. Everything below the overlay
(erofs mounts, loops, backing files, Kata's verdict) is the host's own answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

from kata_console.engine.mounts.chainmodel import Chain
from kata_console.engine.mounts.chains import resolve_chains
from kata_console.engine.mounts.mounttable import MOUNTINFO, MountTable
from kata_console.engine.ports import HostView
from kata_console.sources.model import DeviceView

#: mount ids for synthetic overlays start here, far above what a demo table uses
_SYNTHETIC_ID = 900_000


@dataclass(frozen=True, slots=True)
class RootfsSpec:
    """A container's overlay rootfs as containerd hands it to the runtime."""

    lowerdirs: tuple[str, ...]
    upperdir: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RootfsSpec:
        lowers = data.get("lowerdirs") or []
        upper = data.get("upperdir")
        return cls(tuple(str(p) for p in lowers), str(upper) if upper else None)  # type: ignore[union-attr]


def bundle_rootfs(container_id: str, namespace: str = "k8s.io") -> str:
    """Where containerd would mount the rootfs of a task (also what `Chain.bundle` parses)."""
    return f"/run/containerd/io.containerd.runtime.v2.task/{namespace}/{container_id}/rootfs"


def rootfs_chains(
    host: HostView, mountinfo: str, specs: Mapping[str, RootfsSpec]
) -> dict[str, Chain]:
    """Chain per container id: the mounted overlay when the table has one at the bundle
    path, else the synthetic overlay built from the spec."""
    lines = [mountinfo.rstrip("\n")]
    table = MountTable(mountinfo)
    has_ids = table.format == MOUNTINFO  # /proc/mounts lines carry no ids to invent
    for n, (cid, spec) in enumerate(sorted(specs.items())):
        target = bundle_rootfs(cid)
        if table.at(target) is not None or not spec.lowerdirs:
            continue
        opts = f"rw,lowerdir={':'.join(spec.lowerdirs)}"
        if spec.upperdir:
            work = spec.upperdir.rsplit("/", 1)[0] + "/work"
            opts += f",upperdir={spec.upperdir},workdir={work}"
        mid = _SYNTHETIC_ID + n
        if has_ids:
            lines.append(f"{mid} 1 0:{mid} / {target} rw,relatime - overlay overlay {opts}")
        else:
            lines.append(f"overlay {target} overlay {opts} 0 0")
    report = resolve_chains(MountTable("\n".join(lines) + "\n", table.format), host)
    for chain in report.chains:
        if chain.mount_id is not None and chain.mount_id >= _SYNTHETIC_ID:
            chain.mount_id = -1  # no such mount on the host: never show an invented id
    by_target = {c.target: c for c in report.chains}
    return {cid: by_target[bundle_rootfs(cid)] for cid in specs if bundle_rootfs(cid) in by_target}


def device_id(host_path: str) -> str:
    """A stable 16-hex device id (the engine draws them from an RNG; fixtures must not)."""
    return hashlib.sha256(host_path.encode()).hexdigest()[:16]


def layer_devices(
    chains: Mapping[str, Chain], order: list[str], driver: str = "virtio-scsi"
) -> tuple[list[DeviceView], dict[str, list[str]]]:
    """The block devices an EROFS rootfs turns into, deduplicated by backing file the way
    Kata's device manager does, with per-container device ids. `order` is the creation
    order of the containers (it decides the block indexes)."""
    devices: dict[str, DeviceView] = {}
    per_container: dict[str, list[str]] = {}
    for cid in order:
        chain = chains.get(cid)
        if chain is None or not chain.erofs:
            continue
        ids: list[str] = []
        for layer in chain.layers:
            if layer.role == "upper":
                continue
            path = layer.backing_file or layer.source or layer.path
            dev = devices.get(path)
            if dev is None:
                index = len(devices)
                address = f"{index // 256}:{index % 256}" if driver == "virtio-scsi" else _vd(index)
                dev = DeviceView(device_id(path), path, "block", 0, 0, index, address, True)
                devices[path] = dev
            dev.refcount += 1
            dev.attach_count += 1
            ids.append(dev.id)
        per_container[cid] = ids
    return list(devices.values()), per_container


def _vd(index: int) -> str:
    """Kata's virtio-blk guest name for a block index: vda..vdz, vdaa.. (bijective base 26)."""
    name = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        name = chr(ord("a") + rem) + name
    return f"/dev/vd{name}"
