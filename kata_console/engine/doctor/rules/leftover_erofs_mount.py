"""An erofs mount under containerd's EROFS snapshotter root that no overlay uses as a layer
and no persist.json device names as its file: a container was removed but its layer's
mount stayed (the mount leak of a failed start), holding the loop and the file.
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import EROFS_SNAPSHOTTER, Context, dev_path, release
from kata_console.engine.doctor.finding import WARNING, Finding
from kata_console.engine.doctor.rule import Rule
from kata_console.engine.mounts.chainmodel import BAD_STATUSES
from kata_console.engine.mounts.rootfs import LAYER_BASENAME, go_base

ID = "leftover-erofs-mount"


def check(ctx: Context) -> Iterator[Finding]:
    chains = ctx.extras.host_chains
    if chains is None:
        return
    used = {layer.path for ch in chains.chains for layer in ch.layers}
    used |= {layer.path for _, _, ch in ctx.container_chains() for layer in ch.layers}
    for m in chains.erofs_mounts:
        if EROFS_SNAPSHOTTER not in m.target or m.target in used:
            continue
        if m.backing_file in ctx.device_files:
            continue
        if m.backing_file and go_base(m.backing_file) != LAYER_BASENAME:
            continue  # erofs-rootfs-refused reports it
        if m.status in BAD_STATUSES:
            continue  # layer-backing-file-gone reports it
        dev = dev_path(m.device.name) if m.device is not None else None
        yield Finding(
            ID,
            WARNING,
            f"erofs mount {m.target} is used by no overlay and no sandbox",
            device=dev,
            evidence=[
                f"host mount table: erofs {m.target} (mount {m.mount_id}) from {m.source}",
                f"backing file {m.backing_file}" + (f" via {dev}" if dev else ""),
                f"no overlay lowerdir and no persist.json BlockDrive.File names it "
                f"({len(chains.chains)} overlays read)",
            ],
            fix=release(m.target, dev),
        )


RULE = Rule(ID, check, needs_extras=True)
