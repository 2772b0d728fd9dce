"""`FixtureSource`: a deterministic console scenario for snapshots, pilot tests and benches.

Sandboxes, states and log lines come from a small JSON (fixtures/console/demo.json); the
chains, Kata verdicts and layer devices are resolved for real from the recorded demo
host it points at. The clock is frozen and every id is fixed, so a screenshot taken
today and in a year is byte-identical. Operations follow a small state table so flows
(confirm -> run -> badge changes) can be tested; the lifecycle engine itself is the
engine-backed demo source's business, not this one's.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path
from typing import Any

from backends.host.snapshot import SnapshotHost
from kata_console.engine.mounts.chainmodel import ChainReport
from kata_console.engine.mounts.chains import resolve_chains
from kata_console.engine.mounts.mounttable import MountTable
from kata_console.engine.ports import Clock
from kata_console.sources.model import (
    ConsoleError,
    ContainerView,
    LogLine,
    Operation,
    SandboxView,
    SourceEvent,
    StateChanged,
    Unsubscribe,
)
from kata_console.sources.rootfs_chains import RootfsSpec, layer_devices, rootfs_chains

REPO = Path(__file__).resolve().parents[2]
DEFAULT_FIXTURE = REPO / "fixtures" / "console" / "demo.json"

#: op -> (states it may run from, resulting state); "" is "not created yet"
_CONTAINER_TABLE: dict[str, tuple[frozenset[str], str | None]] = {
    "create_container": (frozenset({""}), "ready"),
    "start_container": (frozenset({"ready", "stopped"}), "running"),
    "stop_container": (frozenset({"ready", "running", "paused", "stopped"}), "stopped"),
    "pause_container": (frozenset({"running"}), "paused"),
    "resume_container": (frozenset({"paused"}), "running"),
    "kill_container": (frozenset({"running", "paused"}), None),
    "delete_container": (frozenset({"ready", "stopped", ""}), ""),
}
_SANDBOX_TABLE: dict[str, tuple[frozenset[str], str]] = {
    "create_sandbox": (frozenset({""}), "ready"),
    "start_sandbox": (frozenset({"ready", "stopped"}), "running"),
    "stop_sandbox": (frozenset({"ready", "running", "paused", "stopped"}), "stopped"),
    "delete_sandbox": (frozenset({"ready", "stopped"}), ""),
}
_RPC = {
    "start_container": ['RPC StartContainer{{container_id="{c}"}}'],
    "pause_container": ['RPC PauseContainer{{container_id="{c}"}}'],
    "resume_container": ['RPC ResumeContainer{{container_id="{c}"}}'],
    "kill_container": ['RPC SignalProcess{{container_id="{c}", exec_id="", signal=15}}'],
    "stop_container": [
        'RPC SignalProcess{{container_id="{c}", exec_id="", signal=9}}',
        'RPC WaitProcess{{container_id="{c}", exec_id=""}}',
        'RPC RemoveContainer{{container_id="{c}", timeout=0}}',
        "detach {n} device(s) of {c}",
    ],
    "delete_container": ["remove {c} from the sandbox; delete its persist.json"],
    "create_container": [
        "createErofsDevices for {c} ({n} layer device(s))",
        'RPC CreateContainer{{container_id="{c}"}}',
    ],
    "create_sandbox": ['hypervisor StartVM{{id="{s}"}}', 'RPC CreateSandbox{{sandbox_id="{s}"}}'],
    "start_sandbox": ["start every container of {s}"],
    "stop_sandbox": [
        "stop every container of {s}",
        'RPC DestroySandbox{{sandbox_id="{s}"}}',
        'hypervisor StopVM{{id="{s}"}}',
    ],
    "delete_sandbox": ["delete {s} and its state directory"],
}


class FixtureSource:
    """Sandboxes from a fixture JSON over a recorded host; frozen clock; fixed ids."""

    demo = True

    def __init__(
        self,
        path: str | Path = DEFAULT_FIXTURE,
        *,
        read_only: bool = False,
        read_only_reason: str = "",
        name: str = "fixture",
        clock: Clock | None = None,
    ) -> None:
        """Args:
        clock: what `now()` reads (default: frozen at the fixture's `clock`, so every
            frame is the same; a test that lets time pass gives a clock it advances).
        """
        self.path = Path(path)
        self.name = name
        self.read_only = read_only
        self.read_only_reason = read_only_reason or ("fixture is read-only" if read_only else "")
        with open(self.path, encoding="utf-8") as fh:
            data: dict[str, Any] = json.load(fh)
        self._clock = _dt.datetime.fromisoformat(data["clock"])
        self._ticking = clock
        self._host = SnapshotHost.load(self.path.parent / data["host"])
        self._mountinfo = self._host.read_mountinfo()
        self._sandboxes = self._build(data)
        self._logs = self._build_logs(data)
        self._subscribers: list[Callable[[SourceEvent], None]] = []
        #: every operation run so far, in order (tests assert on it)
        self.calls: list[Operation] = []

    # ------------------------------------------------------------------ ConsoleSource

    def now(self) -> _dt.datetime:
        return self._ticking.now() if self._ticking is not None else self._clock

    async def load(self) -> list[SandboxView]:
        return deepcopy(self._sandboxes)

    async def chains(self) -> ChainReport:
        return resolve_chains(MountTable(self._mountinfo), self._host)

    def logs(self) -> list[LogLine]:
        return list(self._logs)

    def subscribe(self, callback: Callable[[SourceEvent], None]) -> Unsubscribe:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def describe(self, op: Operation) -> str:
        sb = self._sandbox(op.sandbox_id)
        n = 0
        if op.container_id is not None:
            n = len(self._container(sb, op.container_id).devices)
        steps = _RPC[op.op]
        return "\n".join(s.format(c=op.container_id, s=op.sandbox_id, n=n) for s in steps)

    def refusal(self, op: Operation) -> str | None:
        """Why `op` cannot apply (the state tables' own texts), asked before confirming."""
        sb = next((s for s in self._sandboxes if s.id == op.sandbox_id), None)
        if sb is None:
            return f"sandbox {op.sandbox_id} does not exist"
        if op.container_id is None:
            allowed, _ = _SANDBOX_TABLE[op.op]
            if op.op == "start_sandbox" and sb.agent_health == "stopped":
                return (
                    "its VM and agent were stopped with it: a stopped sandbox does not start again"
                )
            if sb.state not in allowed:
                return f"sandbox {sb.id} is {sb.state or 'not created'}: cannot {op.op}"
            return None
        c = sb.container(op.container_id)
        if c is None:
            return f"container {op.container_id} does not exist in {sb.id}"
        allowed, _ = _CONTAINER_TABLE[op.op]
        if c.state not in allowed:
            return f"container {c.id} is {c.state or 'not created'}: cannot {op.op}"
        if sb.agent_health in ("dead", "stopped") and op.op != "delete_container":
            return f"agent of {sb.id} is {sb.agent_health}: {op.op} needs the agent"
        return None

    async def run_op(self, op: Operation) -> None:
        self.calls.append(op)
        sb = self._sandbox(op.sandbox_id)
        if op.container_id is None:
            self._run_sandbox_op(sb, op)
        else:
            self._run_container_op(sb, self._container(sb, op.container_id), op)

    # ------------------------------------------------------------------ operations

    def _run_sandbox_op(self, sb: SandboxView, op: Operation) -> None:
        allowed, new = _SANDBOX_TABLE[op.op]
        if sb.state not in allowed:
            self._fail(op, f"sandbox {sb.id} is {sb.state or 'not created'}: cannot {op.op}")
        if op.op == "stop_sandbox":
            for c in sb.containers:
                if c.state in ("running", "paused", "ready"):
                    self._set_container(sb, c, "stopped")
            sb.agent_health = "stopped"  # the agent goes with the VM
        if new == "":
            self._sandboxes.remove(sb)
        self._set_sandbox(sb, new)

    def _run_container_op(self, sb: SandboxView, c: ContainerView, op: Operation) -> None:
        allowed, new = _CONTAINER_TABLE[op.op]
        if c.state not in allowed:
            self._fail(op, f"container {c.id} is {c.state or 'not created'}: cannot {op.op}")
        if sb.agent_health in ("dead", "stopped") and op.op != "delete_container":
            self._fail(op, f"agent of {sb.id} is {sb.agent_health}: {op.op} needs the agent")
        if op.op == "create_container" and c.kata_error:
            self._fail(op, c.kata_error)
        if op.op == "delete_container":
            sb.containers.remove(c)
        if new is None:
            self._emit(LogLine(self._clock, "engine", "info", f"{op.op} {c.id}: signalled", _f(op)))
            return
        self._set_container(sb, c, new)

    def _set_container(self, sb: SandboxView, c: ContainerView, state: str) -> None:
        old, c.state = c.state, state
        text = f"state {c.id}: {old or '-'} -> {state or 'deleted'}"
        fields = {"sandbox": sb.id, "container": c.id}
        self._emit(LogLine(self._clock, "engine", "info", text, fields))
        self._emit(StateChanged(sb.id, c.id, state))

    def _set_sandbox(self, sb: SandboxView, state: str) -> None:
        old, sb.state = sb.state, state
        text = f"state {sb.id}: {old or '-'} -> {state or 'deleted'}"
        self._emit(LogLine(self._clock, "engine", "info", text, {"sandbox": sb.id}))
        self._emit(StateChanged(sb.id, None, state))

    def _fail(self, op: Operation, message: str) -> None:
        self._emit(LogLine(self._clock, "engine", "error", f"{op.op} failed: {message}", _f(op)))
        raise ConsoleError(message)

    def _emit(self, event: SourceEvent) -> None:
        if isinstance(event, LogLine):
            self._logs.append(event)
        for callback in list(self._subscribers):
            callback(event)

    def _sandbox(self, sandbox_id: str) -> SandboxView:
        for sb in self._sandboxes:
            if sb.id == sandbox_id:
                return sb
        raise ConsoleError(f"sandbox {sandbox_id} does not exist")

    @staticmethod
    def _container(sb: SandboxView, container_id: str) -> ContainerView:
        found = sb.container(container_id)
        if found is None:
            raise ConsoleError(f"container {container_id} does not exist in {sb.id}")
        return found

    # ------------------------------------------------------------------ loading

    def _build(self, data: dict[str, Any]) -> list[SandboxView]:
        specs = {cid: RootfsSpec.from_dict(s) for cid, s in self._host_rootfs().items()}
        chains = rootfs_chains(self._host, self._mountinfo, specs)
        out: list[SandboxView] = []
        for sb in data["sandboxes"]:
            containers = []
            for c in sb["containers"]:
                chain = chains.get(c.get("rootfs", ""))
                containers.append(
                    ContainerView(
                        id=c["id"],
                        sandbox_id=sb["id"],
                        state=c["state"],
                        rootfs_kind="erofs" if chain and chain.erofs else "overlay",
                        layers=sum(1 for la in chain.layers if la.role != "upper") if chain else 0,
                        pid=c.get("pid"),
                        chain=chain,
                        kata_error=chain.kata_verdict if chain else None,
                    )
                )
            facts = [(str(k), str(v)) for k, v in sb.get("facts", [])]
            driver = dict(facts).get("block driver", "virtio-scsi")
            created = [c.id for c in containers if c.state]
            devices, per = layer_devices(
                {c.id: c.chain for c in containers if c.chain}, created, driver
            )
            for c in containers:
                c.devices = per.get(c.id, [])
            out.append(
                SandboxView(
                    id=sb["id"],
                    state=sb["state"],
                    hypervisor=sb["hypervisor"],
                    agent_health=sb["agent"],
                    containers=containers,
                    devices=devices,
                    created=_dt.datetime.fromisoformat(sb["created"]),
                    facts=facts,
                )
            )
        return out

    def _host_rootfs(self) -> dict[str, Any]:
        with open(self._host.source, encoding="utf-8") as fh:
            return dict(json.load(fh).get("rootfs") or {})

    def _build_logs(self, data: dict[str, Any]) -> list[LogLine]:
        kata = {c.id: c.kata_error or "" for sb in self._sandboxes for c in sb.containers}
        lines = []
        for when, source, level, sandbox, container, text in data.get("logs", []):
            if "T" in when:
                time = _dt.datetime.fromisoformat(when)
            else:
                clock = _dt.time.fromisoformat(when)
                time = _dt.datetime.combine(self._clock.date(), clock, self._clock.tzinfo)
            for cid, error in kata.items():
                text = text.replace(f"{{kata:{cid}}}", error)
            fields = {"sandbox": sandbox} | ({"container": container} if container else {})
            lines.append(LogLine(time, source, level, text, fields))
        lines.sort(key=lambda line: line.time)
        return lines


def _f(op: Operation) -> dict[str, Any]:
    fields: dict[str, Any] = {"sandbox": op.sandbox_id}
    if op.container_id:
        fields["container"] = op.container_id
    return fields
