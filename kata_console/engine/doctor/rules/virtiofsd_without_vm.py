"""A virtiofsd with no VM: it serves a shared directory to nobody and keeps it (and the
mounts under it) busy; left when the VMM died without the shim cleaning up.
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import Context, pids
from kata_console.engine.doctor.finding import WARNING, Finding
from kata_console.engine.doctor.rule import Rule
from kata_console.engine.doctor.rules.vm_without_shim import groups
from kata_console.engine.inspect.facts import VIRTIOFSD, VMM

ID = "virtiofsd-without-vm"


def check(ctx: Context) -> Iterator[Finding]:
    for sid, procs in sorted(groups(ctx).items()):
        daemons = [p for p in procs if p.role == VIRTIOFSD]
        if not daemons or any(p.role == VMM for p in procs):
            continue
        yield Finding(
            ID,
            WARNING,
            "virtiofsd runs with no VM",
            sandbox=sid,
            evidence=[f"{pids(daemons)}: " + " ".join(daemons[0].cmdline[:3]), "no VM process"],
            fix=f"kill {' '.join(str(p.pid) for p in daemons)}",
        )


RULE = Rule(ID, check)
