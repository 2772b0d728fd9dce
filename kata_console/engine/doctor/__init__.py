"""`doctor`: findings on a Kata node, computed by pure rules over the inspected model.

`findings_for(report, extras)` is the API the CLI and the console call; `checked` counts
what the rules looked at, so "no findings" can be told apart from "nothing checked".
"""

from __future__ import annotations

from typing import Any

from kata_console.engine.doctor.context import Context
from kata_console.engine.doctor.finding import Finding, severity_counts
from kata_console.engine.doctor.rule import Rule
from kata_console.engine.doctor.rules import discover
from kata_console.engine.inspect.extras import HostExtras
from kata_console.engine.inspect.report import HostReport

__all__ = ["RULES", "Finding", "checked", "findings_for", "severity_counts"]

RULES: list[Rule] = discover()


def findings_for(
    report: HostReport, extras: HostExtras | None = None, rules: list[Rule] | None = None
) -> list[Finding]:
    """Every finding, worst first, then by sandbox, container, device."""
    ctx = Context.build(report, extras)
    out: list[Finding] = []
    for rule in RULES if rules is None else rules:
        if rule.needs_extras and not ctx.extras.recorded:
            continue
        out.extend(rule.check(ctx))
    return sorted(out, key=Finding.sort_key)


def checked(report: HostReport, extras: HostExtras | None = None) -> dict[str, Any]:
    """What was looked at, in counts (`doctor --json`'s `checked`)."""
    ex = extras if extras is not None else HostExtras(recorded=False)
    chains = ex.host_chains
    skipped = [r.id for r in RULES if r.needs_extras and not ex.recorded]
    return {
        "rules": len(RULES) - len(skipped),
        "rules_skipped": skipped,
        "sandboxes": len(report.sandboxes),
        "containers": sum(len(s.containers) for s in report.sandboxes),
        "devices": sum(len(s.devices) for s in report.sandboxes),
        "processes": sum(len(s.processes) for s in report.sandboxes) + len(report.unclaimed),
        "network_namespaces": sum(1 for s in report.sandboxes if s.network and s.network.netns),
        "shim_sockets": sum(1 for s in report.sandboxes if s.shim is not None),
        "chains": sum(1 for s in report.sandboxes for c in s.containers if c.chain)
        + (len(chains.chains) if chains else 0),
        "erofs_mounts": len(chains.erofs_mounts) if chains else 0,
        "loops": len(ex.loops),
        "cgroups": len(ex.cgroups),
        "host_facts": ex.recorded,
    }
