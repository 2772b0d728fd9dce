"""A container whose EROFS rootfs Kata refuses (or will refuse when the container is
created): a lower that is no `layer.erofs` (a flattened `fsmeta.erofs`), a lower with no
erofs mount, an upper that is no `rwlayer.img`. The verdict and its text are the mount
resolver's, which runs Kata's own `createErofsDevices` rules; this rule reports them.
An erofs mount under the snapshotter's root whose source is no `layer.erofs` is refused
as soon as a container uses it, so it is reported too, as a warning.
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import EROFS_SNAPSHOTTER, Context, dev_path
from kata_console.engine.doctor.finding import ERROR, WARNING, Finding
from kata_console.engine.doctor.rule import Rule
from kata_console.engine.mounts.chainmodel import Chain
from kata_console.engine.mounts.rootfs import LAYER_BASENAME, go_base

ID = "erofs-rootfs-refused"
FIX = (
    "give the image as one layer.erofs per layer: on containerd's erofs snapshotter turn "
    "off layer flattening for the Kata runtime handler (no fsmeta.erofs), re-pull the image "
    "and recreate the pod"
)


def _chain(ch: Chain, sandbox: str | None, container: str | None, table: str) -> Finding | None:
    bad = [layer for layer in ch.layers if layer.kata_error]
    if not bad:
        return None
    evidence = [f"mount table {table}: overlay {ch.target} (mount {ch.mount_id})"]
    for layer in bad:
        src = layer.backing_file or layer.source or "?"
        evidence.append(f"{layer.role} {layer.index} {layer.path}: {src}")
    return Finding(
        ID,
        ERROR,
        f"Kata refuses this container's EROFS rootfs ({len(bad)} layer(s))",
        sandbox=sandbox,
        container=container,
        evidence=evidence,
        kata_error=bad[0].kata_error,
        fix=FIX,
    )


def check(ctx: Context) -> Iterator[Finding]:
    for sb, cid, ch in ctx.container_chains():
        f = _chain(ch, sb.id, cid, sb.mount_table or "host")
        if f is not None:
            yield f
    for ch in ctx.host_only_chains():
        bundle = (ch.bundle or {}).get("id")
        f = _chain(ch, None, bundle, "host")
        if f is not None:
            yield f
    yield from _mounts(ctx)


def _mounts(ctx: Context) -> Iterator[Finding]:
    chains = ctx.extras.host_chains
    if chains is None:
        return
    lowers = {layer.path for ch in chains.chains for layer in ch.layers}
    for m in chains.erofs_mounts:
        if EROFS_SNAPSHOTTER not in m.target or m.target in lowers or not m.backing_file:
            continue
        if go_base(m.backing_file) == LAYER_BASENAME:
            continue
        dev = dev_path(m.device.name) if m.device is not None else None
        yield Finding(
            ID,
            WARNING,
            f"an erofs mount Kata will refuse as a rootfs layer ({go_base(m.backing_file)})",
            device=dev,
            evidence=[
                f"host mount table: erofs {m.target} (mount {m.mount_id}) from {m.source}",
                f"backing file {m.backing_file}",
            ],
            kata_error=f"unsupported mount source {m.backing_file} for {m.target}",
            fix=FIX,
        )


RULE = Rule(ID, check)
