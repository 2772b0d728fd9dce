"""A persist.json block device whose `BlockDrive.File` no longer exists, or is no longer
the file the loop / erofs mount holds (same path, another inode: deleted and re-created,
or renamed over). Kata re-attaches by path (restore, a second container, a VM restart), so
it would plug another file than the one the guest has, or fail to open it.
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import Context
from kata_console.engine.doctor.finding import ERROR, Finding
from kata_console.engine.doctor.rule import Rule

ID = "device-file-gone"
FIX = (
    "stop and recreate the pod: its devices cannot be re-attached from persist.json; "
    "do not delete snapshot directories of running pods"
)


def check(ctx: Context) -> Iterator[Finding]:
    files = ctx.extras.files
    holders = {}
    if ctx.extras.host_chains is not None:
        for m in ctx.extras.host_chains.erofs_mounts:
            if m.backing_file and m.device is not None and m.device.inode is not None:
                holders[m.backing_file] = m
    for sb in ctx.report.sandboxes:
        for dev in sb.devices:
            path = dev.get("host_path")
            fact = files.get(path) if path else None
            if fact is None or dev.get("kind") != "block":
                continue
            where = f"{sb.state_dir}/persist.json: Devices[{dev['id']}].BlockDrive.File {path}"
            if fact.error is not None:
                yield Finding(
                    ID,
                    ERROR,
                    "the device's BlockDrive.File no longer exists",
                    sandbox=sb.id,
                    device=dev["id"],
                    evidence=[where, f"stat {path}: {fact.error}"],
                    fix=FIX,
                )
                continue
            m = holders.get(path)
            if m is None or m.device is None or m.device.inode == fact.ino:
                continue
            yield Finding(
                ID,
                ERROR,
                "the device's BlockDrive.File is not the file the erofs mount holds",
                sandbox=sb.id,
                device=dev["id"],
                evidence=[
                    where,
                    f"stat {path}: inode {fact.ino}",
                    f"erofs {m.target} via {m.device.name}: inode {m.device.inode}",
                ],
                fix=FIX,
            )


RULE = Rule(ID, check, needs_extras=True)
