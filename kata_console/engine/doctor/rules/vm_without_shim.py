"""A VM process (`-name sandbox-<id>`) whose shim is gone: the VM keeps its memory, CPUs,
tap and devices, and no one will ever stop it. Found among a sandbox's processes and among
processes of sandboxes that have no state directory at all.
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import Context, pids
from kata_console.engine.doctor.finding import ERROR, Finding
from kata_console.engine.doctor.rule import Rule
from kata_console.engine.inspect.facts import SHIM, VMM, ProcessFacts

ID = "vm-without-shim"


def groups(ctx: Context) -> dict[str, list[ProcessFacts]]:
    """Every Kata process by sandbox, those with a state directory and those without."""
    out: dict[str, list[ProcessFacts]] = {}
    for sb in ctx.report.sandboxes:
        out[sb.id] = [p for p in sb.processes if p.status != "exited"]
    for p in ctx.report.unclaimed:
        if p.sandbox_id and p.status != "exited":
            out.setdefault(p.sandbox_id, []).append(p)
    return out


def check(ctx: Context) -> Iterator[Finding]:
    for sid, procs in sorted(groups(ctx).items()):
        vms = [p for p in procs if p.role == VMM]
        if not vms or any(p.role == SHIM for p in procs):
            continue
        yield Finding(
            ID,
            ERROR,
            "a VM runs with no shim",
            sandbox=sid,
            evidence=[f"{pids(vms)}: " + " ".join(vms[0].cmdline[:3]), "no shim process"],
            fix=f"kill {' '.join(str(p.pid) for p in vms)} (the VM has no owner), then "
            f"ctr -n k8s.io task delete --force {sid}",
        )


RULE = Rule(ID, check)
