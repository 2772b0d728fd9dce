"""A loop device whose backing file is a `layer.erofs` that no erofs mount reads and no
persist.json device names: left behind when an erofs mount was unmounted without detaching
its loop (containerd's mount manager, or a `umount` by hand), it pins the layer's inode.
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import Context
from kata_console.engine.doctor.finding import WARNING, Finding
from kata_console.engine.doctor.rule import Rule
from kata_console.engine.mounts.rootfs import LAYER_BASENAME, go_base

ID = "orphan-loop"


def check(ctx: Context) -> Iterator[Finding]:
    chains = ctx.extras.host_chains
    if chains is None:
        return  # without the host's mounts, no loop can be called unused
    mounted = {
        m.device.name.removeprefix("/dev/")
        for m in chains.erofs_mounts
        if m.device is not None and m.device.name
    }
    mounted |= {m.source.removeprefix("/dev/") for m in chains.erofs_mounts}
    for loop in ctx.extras.loops:
        if go_base(loop.backing_file) != LAYER_BASENAME or loop.name in mounted:
            continue
        if loop.backing_file in ctx.device_files:
            continue
        yield Finding(
            ID,
            WARNING,
            f"/dev/{loop.name} holds {loop.backing_file} but no erofs mount uses it",
            device=f"/dev/{loop.name}",
            evidence=[
                f"/sys/block/{loop.name}/loop/backing_file: {loop.backing_file}"
                + (" (deleted)" if loop.deleted else ""),
                f"host mount table: no erofs mount from /dev/{loop.name} "
                f"({len(chains.erofs_mounts)} erofs mounts read)",
                "no persist.json device has this BlockDrive.File",
            ],
            fix=f"losetup -d /dev/{loop.name}",
        )


RULE = Rule(ID, check, needs_extras=True)
