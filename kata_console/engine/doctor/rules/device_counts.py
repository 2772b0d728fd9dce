"""persist.json's device counters against the containers that reference the device: Kata's
device manager counts one reference per container (`RefCount`, from each container's
`DeviceMaps`) and detaches when the last goes. A count that disagrees means a detach will
come too early (the guest loses a layer a container still reads) or never (a leak).
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import Context
from kata_console.engine.doctor.finding import WARNING, Finding
from kata_console.engine.doctor.rule import Rule

ID = "device-refcount-mismatch"


def check(ctx: Context) -> Iterator[Finding]:
    for sb in ctx.report.sandboxes:
        users: dict[str, list[str]] = {}
        for c in sb.containers:
            for dev_id in c.devices:
                users.setdefault(dev_id, []).append(c.id)
        if any(c.state == "unknown" for c in sb.containers):
            continue  # a container's file is unreadable: its DeviceMaps are unknown
        for dev in sb.devices:
            refs = users.get(dev["id"], [])
            problems = []
            if dev["refcount"] != len(refs):
                problems.append(f"RefCount {dev['refcount']} but {len(refs)} container(s)")
            if dev["attach_count"] > 0 and not refs:
                problems.append(f"AttachCount {dev['attach_count']} with no container")
            if not problems:
                continue
            yield Finding(
                ID,
                WARNING,
                "device counters disagree with the containers: " + "; ".join(problems),
                sandbox=sb.id,
                device=dev["id"],
                evidence=[
                    f"{sb.state_dir}/persist.json: Devices[{dev['id']}] RefCount "
                    f"{dev['refcount']} AttachCount {dev['attach_count']}",
                    "DeviceMaps referencing it: " + (", ".join(refs) or "none"),
                ],
                fix="recreate the pod; do not edit persist.json by hand",
            )


RULE = Rule(ID, check)
