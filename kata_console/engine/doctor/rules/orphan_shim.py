"""A shim process for a sandbox that has no state directory: its `/run/vc/sbs/<id>` was
removed (the monitor's cleanup after a failed start, a hand `rm`), so the shim can neither
stop nor delete the sandbox (`containerd-shim-kata-v2 delete` fails).
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import Context, pids
from kata_console.engine.doctor.finding import ERROR, Finding
from kata_console.engine.doctor.rule import Rule
from kata_console.engine.inspect.facts import SHIM

ID = "shim-without-sandbox"


def check(ctx: Context) -> Iterator[Finding]:
    by_sandbox: dict[str, list] = {}
    for p in ctx.report.unclaimed:
        if p.role == SHIM and p.sandbox_id and p.status != "exited":
            by_sandbox.setdefault(p.sandbox_id, []).append(p)
    for sid, procs in sorted(by_sandbox.items()):
        yield Finding(
            ID,
            ERROR,
            "a shim runs for a sandbox with no state directory",
            sandbox=sid,
            evidence=[
                f"{pids(procs)}: " + " ".join(procs[0].cmdline),
                f"no state directory for {sid} under the state roots",
            ],
            fix=f"ctr -n k8s.io task delete --force {sid}; if the shim stays, "
            f"kill {' '.join(str(p.pid) for p in procs)}",
        )


RULE = Rule(ID, check)
