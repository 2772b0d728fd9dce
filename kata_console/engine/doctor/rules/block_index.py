"""Two attached block devices of one sandbox with the same block index: Kata derives the
guest drive name (`vdX`) and SCSI address from the index, so both claim one guest disk and
the second hot-plug fails or shadows the first.
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import Context
from kata_console.engine.doctor.finding import ERROR, Finding
from kata_console.engine.doctor.rule import Rule

ID = "block-index-reused"


def check(ctx: Context) -> Iterator[Finding]:
    for sb in ctx.report.sandboxes:
        by_index: dict[int, list[str]] = {}
        for dev in sb.devices:
            if dev.get("index") is not None:
                by_index.setdefault(dev["index"], []).append(dev["id"])
        for index, ids in sorted(by_index.items()):
            if len(ids) < 2:
                continue
            yield Finding(
                ID,
                ERROR,
                f"block index {index} is used by {len(ids)} attached devices",
                sandbox=sb.id,
                device=ids[1],
                evidence=[
                    f"{sb.state_dir}/persist.json: Devices[{i}].BlockDrive.Index {index}"
                    for i in ids
                ],
                fix="recreate the pod",
            )


RULE = Rule(ID, check)
