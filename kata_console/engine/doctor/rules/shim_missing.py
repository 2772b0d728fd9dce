"""A live sandbox directory (ready, running, paused) with no shim process: the shim died,
so nothing answers containerd for this pod; it shows stuck (ContainerCreating or
Terminating) until the task is deleted, and the VM, if still running, is unowned.
A stopped sandbox without a shim is left alone: `containerd-shim-kata-v2 delete` cleans it
up from persist.json.
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import LIVE_STATES, Context
from kata_console.engine.doctor.finding import ERROR, Finding
from kata_console.engine.doctor.rule import Rule
from kata_console.engine.inspect.facts import SHIM

ID = "shim-missing"


def check(ctx: Context) -> Iterator[Finding]:
    for sb in ctx.report.sandboxes:
        if sb.runtime != "go" or sb.state not in LIVE_STATES or ctx.processes(sb, SHIM):
            continue
        yield Finding(
            ID,
            ERROR,
            f"sandbox is {sb.state} but no shim process runs for it",
            sandbox=sb.id,
            evidence=[
                f"{sb.state_dir}/persist.json: State {sb.state}",
                f"no process `containerd-shim-kata-v2 ... -id {sb.id}` "
                f"({ctx.report_process_count()} Kata processes scanned)",
            ],
            fix=f"ctr -n k8s.io task delete --force {sb.id} (or crictl rmp -f the pod); "
            f"containerd then runs `containerd-shim-kata-v2 delete` for {sb.state_dir}",
        )


RULE = Rule(ID, check)
