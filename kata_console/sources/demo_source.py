"""`DemoSource`: the embedded demo, run by the real engine with spawned simulated agents.

The scenario (fixtures/scenarios/demo.json) is a list of `play` plans on the recorded demo
node: every sandbox gets its own agent process, every op goes through the engine, and the
EROFS layers are resolved by Kata's rules against the recorded host. Nothing is mocked on
this side of the agent socket, so what the console shows is what the engine did.

The scenario runs in the background after the first `load()`, so the first frame never
waits for agents to start; sandboxes appear as their StateChanged events arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import json
from pathlib import Path
from typing import Any

from backends.host.snapshot import SnapshotHost
from kata_console.engine.doctor import Finding
from kata_console.engine.inspect.facts import RECORDED, VIRTIOFSD, VMM, ProcessFacts
from kata_console.engine.inspect.report import SandboxReport
from kata_console.engine.lifecycle.events import Stepper
from kata_console.engine.lifecycle.plan import Plan, parse_plan
from kata_console.engine.mounts.chainmodel import ChainReport
from kata_console.sources.engine_source import EngineSource
from kata_console.sources.model import LogLine, SandboxView
from kata_console.sources.shown_findings import shown_findings
from kata_console.wiring import resolve_hypervisor

REPO = Path(__file__).resolve().parents[2]
DEFAULT_SCENARIO = REPO / "fixtures" / "scenarios" / "demo.json"


class DemoSource(EngineSource):
    """Three sandboxes in different states, played by the engine when the console starts."""

    def __init__(
        self,
        scenario: Path = DEFAULT_SCENARIO,
        *,
        state_dir: Path | None = None,
        stepper: Stepper | None = None,
        health_interval: float = 5.0,
        hypervisor: str | None = None,
    ) -> None:
        """`hypervisor` overrides the scenario's (`auto`: QEMU when it is installed)."""
        data = json.loads(scenario.read_text(encoding="utf-8"))
        base = scenario.parent
        super().__init__(
            name="demo",
            demo=True,
            host=SnapshotHost.load(base / data["host"]),
            state_dir=state_dir,
            stepper=stepper,
            health_interval=health_interval,
            probe_agents=True,
        )
        self.description = str(data.get("description", ""))
        self.plans: list[Plan] = [parse_plan(doc, base) for doc in data["sandboxes"]]
        for plan in self.plans:
            if hypervisor is not None:
                plan.sandbox.hypervisor = hypervisor
        #: the same sandboxes as a node showed them outside the VM (processes, namespaces,
        #: shim sockets): a recording, replayed once, shown next to what the engine runs
        self._node: dict[str, SandboxReport] = {}
        #: doctor's rules on what the console shows (every load), and what they could not
        #: check there
        self.findings: list[Finding] = []
        self.findings_gap = ""
        self._host_chains: ChainReport | None = None  # the recorded host's: read once
        if data.get("node"):
            self._node = _node_facts(base / data["node"])
        self._scenario: asyncio.Task[None] | None = None
        self._processes: Any = None  # a psutil scanner, made when a QEMU first runs

    async def load(self) -> list[SandboxView]:
        if self._scenario is None:
            self._scenario = asyncio.get_running_loop().create_task(self._play())
        views = await super().load()
        live = await self._live_vms()
        for view in views:
            sb = self.sandboxes[view.id]
            view.processes = shown_processes(
                self._node.get(view.id), live.get(view.id), sb.hypervisor, self._vm_gone(sb)
            )
            recorded = self._node.get(view.id)
            if recorded is not None:
                view.network, view.shim = recorded.network, recorded.shim
                view.recorded = ("network", "shim")
            # where the engine keeps this sandbox on this machine (what `D` reads, what
            # `y` copies: the recorded shim socket is not here)
            view.facts.append(("state dir", str(self.store.root / view.id)))
        if self._host_chains is None and self.host is not None:
            self._host_chains = await self.chains()
        self.findings, self.findings_gap = shown_findings(
            self.sandboxes, views, str(self.store.root), self.host, self._host_chains
        )
        return views

    async def _live_vms(self) -> dict[str, ProcessFacts]:
        """Each sandbox's running QEMU as psutil describes it (sandbox id -> facts), found
        by the same scan the host inspection uses and kept only when it is this demo's."""
        pids = {
            sb.id: sb.hypervisor.pid
            for sb in self.sandboxes.values()
            if getattr(sb.hypervisor, "running", False) and getattr(sb.hypervisor, "pid", None)
        }
        if not pids:
            return {}
        if self._processes is None:
            from backends.discovery.processes import PsutilProcesses

            self._processes = PsutilProcesses()
        try:
            found = await asyncio.to_thread(self._processes.scan)
        except Exception:  # the recorded rows stay; the VM's own facts are in the view
            return {}
        by_pid = {p.pid: p for p in found if p.role == "vmm"}
        return {sid: by_pid[pid] for sid, pid in pids.items() if pid in by_pid}

    async def ready(self) -> None:
        """Wait until the whole scenario has been played (tests, benchmarks)."""
        if self._scenario is None:
            await self.load()
        assert self._scenario is not None
        await self._scenario

    async def close(self) -> None:
        if self._scenario is not None and not self._scenario.done():
            self._scenario.cancel()
            with contextlib.suppress(BaseException):
                await self._scenario
        await super().close()

    def vm_marker(self) -> tuple[str, str]:
        """The DEMO marker's account of what is real: the VMs (QEMU held in prelaunch, the
        word QMP and the facts use: there is no guest kernel) and the guests (the simulated
        agent), long and short form."""
        kinds = {sb.config.hypervisor_type for sb in self.sandboxes.values()}
        if not kinds:  # nothing started yet: what `auto` will pick
            kinds = {resolve_hypervisor(p.sandbox.hypervisor)[0] for p in self.plans}
        if "qemu" in kinds:
            versions = {
                str(getattr(sb.hypervisor, "version", "") or "")
                for sb in self.sandboxes.values()
                if sb.config.hypervisor_type == "qemu"
            } - {""}
            version = f" {versions.pop().split()[0]}" if len(versions) == 1 else ""
            return f"VM: QEMU{version}, prelaunch; guest: simulated agent", "QEMU, sim guest"
        return "VM: simulated; guest: simulated agent", "sim VM, sim guest"

    async def _play(self) -> None:
        # grpc is a large import: take it off the event loop so the first frame is not late.
        await asyncio.to_thread(importlib.import_module, "backends.agent.spawn")
        for plan in self.plans:
            try:
                sandbox = await self.add_sandbox(plan.sandbox)
            except Exception as exc:  # an agent that cannot start is shown, not raised
                self._history.append(
                    LogLine(
                        self.now(),
                        "console",
                        "error",
                        f"sandbox {plan.sandbox.id}: {exc}",
                        {"sandbox": plan.sandbox.id},
                    )
                )
                continue
            for op in plan.ops:
                await self.run(sandbox.id, op)


def _node_facts(path: Path) -> dict[str, SandboxReport]:
    """The recorded node's sandboxes by ID (inspected once, from the recording alone)."""
    from kata_console.engine.inspect.report import inspect_host
    from kata_console.inspection import open_inspection

    insp = open_inspection(str(path))
    vc_root, kata_root = insp.recorded_roots or ("/run/vc", "/run/kata")
    report = inspect_host(insp.ports, vc_root=vc_root, kata_root=kata_root)
    return {s.id: s for s in report.sandboxes}


#: the processes that go with a sandbox's VM (Kata stops them with it)
_WITH_THE_VM = frozenset({VMM, VIRTIOFSD})


def shown_processes(
    recorded: SandboxReport | None, live_vm: ProcessFacts | None, hypervisor: Any, vm_gone: bool
) -> list[ProcessFacts]:
    """What the processes pane lists for a demo sandbox: the real QEMU while it runs (or
    its pid marked exited once it is not), and the recording's other processes marked
    `recorded` (the demo runs no shim or virtiofsd: they are a node's, as recorded); a
    stopped VM takes its recorded VMM and virtiofsd with it."""
    rows = [
        dataclasses.replace(p, status=RECORDED)
        for p in (recorded.processes if recorded is not None else [])
        if not (vm_gone and p.role in _WITH_THE_VM)
    ]
    vm = live_vm
    pid = getattr(hypervisor, "pid", None)
    if vm is None and pid and vm_gone:  # the VM this sandbox ran, gone with its stop
        name = "qemu-system-x86_64" if hasattr(hypervisor, "query_block") else "vm"
        vm = ProcessFacts(pid, name, VMM, None, status="exited", error="exited")
    if vm is None:
        return rows
    at = next((i for i, p in enumerate(rows) if p.role == VMM), len(rows))
    return [*rows[:at], vm, *(p for p in rows[at:] if p.role != VMM)]
