"""What every rule looks at: the inspected report, the extra host facts, and a few indexes
built once (rules stay small and never walk the whole model for the same answer twice).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from kata_console.engine.inspect.extras import HostExtras
from kata_console.engine.inspect.facts import ProcessFacts
from kata_console.engine.inspect.report import HostReport, SandboxReport
from kata_console.engine.mounts.chainmodel import Chain

#: states in which Kata keeps a shim, a VM and a network namespace alive
LIVE_STATES = frozenset({"ready", "running", "paused"})
#: the path component every containerd EROFS snapshotter root has
EROFS_SNAPSHOTTER = "io.containerd.snapshotter.v1.erofs"


@dataclass(slots=True)
class Context:
    report: HostReport
    extras: HostExtras
    #: sandbox IDs with a state directory
    known: set[str] = field(default_factory=set)
    #: backing file -> (sandbox, device id) for every persist.json device
    device_files: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def build(cls, report: HostReport, extras: HostExtras | None = None) -> Context:
        ctx = cls(report, extras if extras is not None else HostExtras(recorded=False))
        ctx.known = {s.id for s in report.sandboxes}
        for sb in report.sandboxes:
            for dev in sb.devices:
                if dev.get("host_path"):
                    ctx.device_files.setdefault(dev["host_path"], []).append((sb.id, dev["id"]))
        return ctx

    def container_chains(self) -> Iterator[tuple[SandboxReport, str, Chain]]:
        """Each container's rootfs chain, as its shim's mount namespace shows it."""
        for sb in self.report.sandboxes:
            for c in sb.containers:
                if c.chain is not None:
                    yield sb, c.id, c.chain

    def host_only_chains(self) -> Iterator[Chain]:
        """The host table's overlays that are no container's rootfs (already covered)."""
        if self.extras.host_chains is None:
            return
        seen = {id(ch) for _, _, ch in self.container_chains()}
        rootfs = {ch.target for _, _, ch in self.container_chains()}
        for ch in self.extras.host_chains.chains:
            if id(ch) not in seen and ch.target not in rootfs:
                yield ch

    def report_process_count(self) -> int:
        return sum(len(s.processes) for s in self.report.sandboxes) + len(self.report.unclaimed)

    def processes(self, sandbox: SandboxReport, role: str) -> list[ProcessFacts]:
        """The sandbox's live processes of a role (one that exited while read is none)."""
        return [p for p in sandbox.processes if p.role == role and p.status != "exited"]


def pids(procs: list[ProcessFacts]) -> str:
    return ", ".join(f"pid {p.pid} ({p.name})" for p in procs)


def dev_path(name: str | None) -> str | None:
    """`/dev/loop0` for the resolver's `loop0`: the name an operator types."""
    if not name:
        return None
    return name if name.startswith("/") else f"/dev/{name}"


def release(target: str, device: str | None) -> str:
    """The commands that let go of an erofs mount and the loop under it."""
    cmd = f"umount {target}"
    if device and "/loop" in device:
        cmd += f" && losetup -d {device}"
    return cmd
