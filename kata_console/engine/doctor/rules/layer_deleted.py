"""A layer whose backing file was deleted or renamed under its loop device (or under a
file-backed erofs mount): the mount still reads the old inode, but Kata hot-plugs
`BlockDrive.File` by path, which is gone or is another file. Found in the container chains,
in the host's erofs mounts, and in the loops themselves (`/sys/block/loopN/loop/backing_file`
ending in ` (deleted)`).
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import Context, dev_path, release
from kata_console.engine.doctor.finding import ERROR, Finding
from kata_console.engine.doctor.rule import Rule
from kata_console.engine.mounts.chainmodel import DELETED, MISSING, DeviceHop

ID = "layer-backing-file-gone"
FIX = (
    "recreate the pod (the layer is readable only through the open loop), then re-pull the "
    "image; release the old layer with: "
)
BAD = (DELETED, MISSING)


def _hop_evidence(hop: DeviceHop | None) -> list[str]:
    out = []
    while hop is not None:
        what = f"{hop.kind} {hop.name or ''} ({hop.majmin or '?'})".replace("  ", " ")
        if hop.backing_file:
            what += f" backing {hop.backing_file}{' (deleted)' if hop.deleted else ''}"
        if hop.inode is not None:
            what += f" inode {hop.inode} on {hop.backing_majmin or '?'}"
        if hop.reason:
            what += f": {hop.reason}"
        out.append(what)
        hop = hop.parent
    return out


def check(ctx: Context) -> Iterator[Finding]:
    seen: set[str] = set()  # backing files already reported
    for sb, cid, ch in ctx.container_chains():
        for layer in ch.layers:
            if layer.status not in BAD or layer.device is None:
                continue
            seen.add(layer.backing_file or layer.path)
            yield Finding(
                ID,
                ERROR,
                f"layer {layer.index} of the rootfs: backing file {layer.status}",
                sandbox=sb.id,
                container=cid,
                device=dev_path(layer.device.name),
                evidence=[
                    f"{sb.mount_table or 'host'}: overlay {ch.target} (mount {ch.mount_id}) "
                    f"{layer.role} {layer.path} (mount {layer.mount_id})",
                    *_hop_evidence(layer.device),
                ],
                kata_error=layer.kata_error,
                fix=FIX + release(layer.path, dev_path(layer.device.name)),
            )
    chains = ctx.extras.host_chains
    if chains is not None:
        for m in chains.erofs_mounts:
            key = m.backing_file or m.target
            if m.status not in BAD or key in seen:
                continue
            seen.add(key)
            users = ctx.device_files.get(m.backing_file or "", [])
            yield Finding(
                ID,
                ERROR,
                f"erofs mount {m.target}: backing file {m.status}",
                sandbox=users[0][0] if users else None,
                device=dev_path(m.device.name) if m.device is not None else None,
                evidence=[
                    f"host mount table: erofs {m.target} (mount {m.mount_id}) from {m.source}",
                    *_hop_evidence(m.device),
                ],
                fix=FIX + release(m.target, dev_path(m.device.name if m.device else None)),
            )
    for loop in ctx.extras.loops:
        if loop.deleted and loop.backing_file not in seen:
            seen.add(loop.backing_file)
            yield Finding(
                ID,
                ERROR,
                f"/dev/{loop.name}: backing file deleted",
                device=f"/dev/{loop.name}",
                evidence=[
                    f"/sys/block/{loop.name}/loop/backing_file: {loop.backing_file} (deleted)"
                ],
                fix=f"losetup -d /dev/{loop.name} once no mount uses it",
            )


RULE = Rule(ID, check)
