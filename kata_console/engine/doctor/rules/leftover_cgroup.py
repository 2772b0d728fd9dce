"""A Kata cgroup (`kata_<id>`, `kata_overhead/<id>`) of a sandbox that is gone (no state
directory, no process): left behind after the pod was deleted; each keeps kernel memory
and shows in monitoring as a pod that is not there.
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import Context
from kata_console.engine.doctor.finding import WARNING, Finding
from kata_console.engine.doctor.rule import Rule
from kata_console.engine.inspect.extras import cgroup_sandbox_id

ID = "leftover-cgroup"


def check(ctx: Context) -> Iterator[Finding]:
    alive = set(ctx.known) | {p.sandbox_id for p in ctx.report.unclaimed if p.sandbox_id}
    for path in ctx.extras.cgroups:
        sid = cgroup_sandbox_id(path)
        if sid in alive:
            continue
        yield Finding(
            ID,
            WARNING,
            "cgroup of a sandbox that is gone",
            sandbox=sid,
            evidence=[f"{path}: a directory; no state directory and no process for {sid}"],
            fix=f"cat {path}/cgroup.procs (must be empty), then rmdir {path}",
        )


RULE = Rule(ID, check, needs_extras=True)
