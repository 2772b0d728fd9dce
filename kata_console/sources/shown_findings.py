"""doctor's rules over what an engine-run console shows: its sandboxes, their containers'
chains and devices as the engine holds them, the processes, namespaces and shim sockets
shown beside them, and the host's chains (`C`).

The demo's sandboxes are the engine's, its chains the recorded demo host's; a doctor run on
some other recording would call a node fine while the chains on screen show Kata refusing
a layer. So the report the rules read is built from the views the console shows. A rule
whose facts this source cannot give (a cgroup tree, a second read of each namespace's
counters, the host's list of loop devices when its recording has none) is not run, and
is named with the reason, so that "no findings" never stands for "not looked at".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kata_console.engine.doctor import RULES, Finding, findings_for
from kata_console.engine.doctor.rules import leftover_cgroup, link_counters, orphan_loop
from kata_console.engine.inspect.extras import FileFacts, HostExtras, read_loops
from kata_console.engine.inspect.facts import HostFacts
from kata_console.engine.inspect.report import ContainerReport, HostReport, SandboxReport
from kata_console.engine.mounts.chainmodel import ChainReport
from kata_console.engine.ports import HostView
from kata_console.exports import device_dict
from kata_console.sources.model import SandboxView

if TYPE_CHECKING:
    from kata_console.engine.lifecycle.sandbox import Sandbox

#: rules whose facts an engine-run console never has, and why
NEVER = {
    leftover_cgroup.ID: "no cgroup tree is shown",
    link_counters.ID: "each network namespace was read once, never again",
}


def shown_findings(
    engine: dict[str, Sandbox],
    views: list[SandboxView],
    store_dir: str,
    host: HostView | None,
    chains: ChainReport | None,
) -> tuple[list[Finding], str]:
    """doctor's findings on what is shown, worst first, and what could not be checked
    ("" when every rule ran)."""
    report = HostReport(HostFacts(), [_sandbox(engine[v.id], v, store_dir) for v in views])
    skipped = dict(NEVER)
    extras = HostExtras(host_chains=chains)
    if host is None:
        extras.host_chains = None
        for rule in RULES:
            if rule.needs_extras:
                skipped.setdefault(rule.id, "no host is shown")
    else:
        errors: list[str] = []
        extras.loops = read_loops(host, errors)
        if errors:  # a recording without /sys/block: no loop is known, not "none"
            skipped[orphan_loop.ID] = "the host's loop devices are not in its recording"
        paths = [d["host_path"] for s in report.sandboxes for d in s.devices if d["host_path"]]
        extras.files = {p: _stat(host, p) for p in sorted(set(paths))}
    rules = [r for r in RULES if r.id not in skipped]
    found = findings_for(report, extras, rules)
    gap = "; ".join(f"{rid}: {why}" for rid, why in sorted(skipped.items()))
    return found, gap


def _sandbox(sb: Sandbox, view: SandboxView, store_dir: str) -> SandboxReport:
    """One sandbox as doctor reads it, from the engine and the console's view of it."""
    containers = [
        ContainerReport(
            c.id, c.state, c.rootfs_kind, pid=c.pid, devices=list(c.devices), chain=c.chain
        )
        for c in view.containers
    ]
    # the engine's devices as `play --json` writes them (the host's side is the host's)
    devices = [{k: v for k, v in device_dict(d).items() if k != "host_side"} for d in view.devices]
    return SandboxReport(
        id=sb.id,
        runtime="go",  # the engine plays Go's runtime (virtcontainers)
        state=sb.state or None,
        hypervisor=sb.config.hypervisor_type,
        state_dir=f"{store_dir}/{sb.id}",
        containers=containers,
        devices=devices,
        processes=list(view.processes),
        network=view.network,
        shim=view.shim,
        errors=list(view.errors),
    )


def _stat(host: HostView, path: str) -> FileFacts:
    """A device's backing file as the shown host has it (a recording may hold only its
    lstat: a layer file is no symlink, so that is the same answer)."""
    why = "not readable"
    for call in (host.stat, host.lstat):
        try:
            st = call(path)
        except OSError as exc:
            why = (exc.strerror or str(exc)).lower()
            continue
        return FileFacts(path, st.dev, st.ino)
    return FileFacts(path, error=why)
