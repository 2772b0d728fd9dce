"""`EngineSource`: the console over the real lifecycle engine and real (spawned) agents.

Sandboxes here are `kata_console.engine.lifecycle.sandbox.Sandbox` objects wired exactly as `play`
wires them (`kata_console.wiring`): one simulated guest agent process per sandbox, a sim
hypervisor or a real QEMU (`auto`: QEMU when installed), a recorded host for the EROFS layers. Every sandbox shares one `EventBus`, so
one `Stepper` gates every step (the step-through view) and one subscription feeds the log
pane. Engine events become `LogLine`s and `StateChanged`s; container stdout comes from the
agent's ReadStdout, which is what a live log pane should show.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import datetime as _dt
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backends.host.snapshot import SnapshotHost
from kata_console.engine.ids import RandomIds, SeededIds
from kata_console.engine.lifecycle.events import (
    EventBus,
    Stepper,
)
from kata_console.engine.lifecycle.plan import Op, SandboxSpec
from kata_console.engine.lifecycle.runner import OpResult, run_op
from kata_console.engine.lifecycle.sandbox import Sandbox, SandboxConfig
from kata_console.engine.mounts.chainmodel import Chain, ChainReport
from kata_console.engine.mounts.chains import resolve_chains
from kata_console.engine.mounts.mounttable import MountTable
from kata_console.engine.mounts.rootfs import RootFs
from kata_console.engine.persist.store import PersistStore
from kata_console.engine.ports import Clock, HostView
from kata_console.sources.agent_health import AgentHealthMeter, Measure, aged, outcome_note
from kata_console.sources.engine_events import EngineEvents
from kata_console.sources.engine_views import EngineViews
from kata_console.sources.model import (
    ConsoleError,
    LogLine,
    Operation,
    SandboxView,
    SourceEvent,
    StateChanged,
    Unsubscribe,
)
from kata_console.sources.rawdocs import (
    RawDocument,
    Target,
    held,
    read_file,
    state_document,
    title_of,
    view_document,
)
from kata_console.sources.refusals import container_refusal, sandbox_refusal
from kata_console.sources.rootfs_chains import RootfsSpec
from kata_console.sources.vm_view import vm_view
from kata_console.wiring import make_agent, make_hypervisor, resolve_hypervisor

#: what each console operation asks of the engine first (the confirmation text)
_PREVIEW = {
    "create_sandbox": 'start VM, RPC Check{{}}, RPC CreateSandbox{{sandbox_id="{s}"}}',
    "start_sandbox": "start every container of sandbox {s}",
    "stop_sandbox": "stop every container, RPC DestroySandbox{{}}, stop VM of sandbox {s}",
    "delete_sandbox": "delete sandbox {s} and its persist.json",
    "create_container": 'attach devices, RPC CreateContainer{{container_id="{c}", exec_id="{c}"}}',
    "start_container": 'RPC StartContainer{{container_id="{c}"}}',
    "stop_container": (
        'RPC SignalProcess{{container_id="{c}", exec_id="", signal=9}}\n'
        'RPC WaitProcess{{container_id="{c}", exec_id="{c}"}}\n'
        'RPC RemoveContainer{{container_id="{c}", timeout=0}}\n'
        "detach devices of {c}"
    ),
    "pause_container": 'RPC PauseContainer{{container_id="{c}"}}',
    "resume_container": 'RPC ResumeContainer{{container_id="{c}"}}',
    "kill_container": (
        'RPC SignalProcess{{container_id="{c}", exec_id="{c}", signal=15}}\n'
        'RPC WaitProcess{{container_id="{c}", exec_id="{c}"}} (its exit status, at most {w:g} s)'
    ),
    "delete_container": "remove container {c} from sandbox {s} (no device detach: stop does that)",
}


#: seconds the console waits for a killed container's process to exit (WaitProcess)
KILL_WAIT = 5.0


class EngineSource(EngineViews, EngineEvents):
    """A `ConsoleSource` whose sandboxes are run by the engine. Subclasses decide which
    sandboxes exist (the demo scenario, a plan)."""

    read_only = False
    read_only_reason = ""

    def __init__(
        self,
        *,
        name: str,
        demo: bool,
        host: HostView | None,
        rootfs: dict[str, RootfsSpec] | None = None,
        state_dir: Path | None = None,
        stepper: Stepper | None = None,
        history: int = 10_000,
        health_interval: float = 5.0,
        clock: Clock | None = None,
        probe_agents: bool = False,
    ) -> None:
        """`probe_agents`: ask each live agent `Check` once its last answer is older than
        `health_interval` (the health monitor watches running sandboxes only, and says
        nothing while they answer), so every badge rests on a recent answer."""
        self.name = name
        self.demo = demo
        self.host = host
        self.rootfs: dict[str, RootfsSpec] = dict(rootfs or {})
        self.bus = EventBus(clock=clock, stepper=stepper or Stepper())
        self._tmp = None if state_dir else tempfile.TemporaryDirectory(prefix="kata-console-")
        self.state_dir = state_dir or Path(self._tmp.name)  # type: ignore[union-attr]
        self.store = PersistStore(self.state_dir / "sbs", fsync=False)
        self.sandboxes: dict[str, Sandbox] = {}
        self.refused: dict[tuple[str, str], tuple[RootFs, str]] = {}
        self._closers: dict[str, Callable[[], Any]] = {}  # sandbox id -> stop its agent
        self._history: collections.deque[LogLine] = collections.deque(maxlen=history)
        self._subscribers: list[Callable[[SourceEvent], None]] = []
        self._tails: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._watches: dict[str, asyncio.Task[None]] = {}  # sandbox id -> its watchSandbox
        self._chains: dict[str, Chain] | None = None
        self.health_interval = health_interval
        #: each sandbox's agent health, measured from what its agent did
        self.agent = AgentHealthMeter(self.now)
        self.probe_agents = probe_agents
        self._probe: asyncio.Task[None] | None = None
        #: deleted sandboxes: gone from the views, kept for the plan ops that still name them
        #: (the engine's sandbox returns to the empty state and may be created again)
        self._deleted: dict[str, Sandbox] = {}
        #: (sandbox, container) -> how its process exited, as WaitProcess reported it
        self.exits: dict[tuple[str, str], str] = {}
        #: sandbox id -> the last reason the console gave for treating its agent as dead
        self._concluded: dict[str, str] = {}
        self.kill_wait = KILL_WAIT
        #: a recording's layer files are not on this machine: a QEMU VM gets stand-ins
        self.host_is_recorded = isinstance(host, SnapshotHost)
        self.bus.subscribe(self._on_event)

    # ----------------------------------------------------------------- building

    async def add_sandbox(self, spec: SandboxSpec) -> Sandbox:
        """Wire a sandbox the way `play` does: agent per spec (spawned by default)."""
        agent, close = await make_agent(
            spec.agent,
            self.state_dir / "vm" / spec.id,
            create_container_timeout=spec.create_container_timeout,
            dial_timeout=spec.dial_timeout,
            faults=spec.agent_faults,
            on_dead=lambda reason: self._agent_dead(spec.id, reason),
        )
        self._closers[spec.id] = close
        kind, note = resolve_hypervisor(spec.hypervisor)
        if note:
            self._note(spec.id, note)
        try:
            hypervisor = make_hypervisor(
                kind,
                block_driver=spec.block_device_driver,
                run_dir=self.state_dir / "vm" / spec.id,
                bus=self.bus,
                recorded_host=self.host_is_recorded,
            )
        except Exception:
            await self._closers.pop(spec.id)()
            raise
        config = SandboxConfig(
            spec.id,
            hypervisor_type=kind,
            block_device_driver=spec.block_device_driver,
            disable_block_device_use=spec.disable_block_device_use,
        )
        ids = SeededIds(spec.seed) if spec.seed is not None else RandomIds()
        sandbox = Sandbox(
            config,
            agent=agent,
            hypervisor=hypervisor,
            host=self.host,
            store=self.store,
            ids=ids,
            bus=self.bus,
        )
        self.sandboxes[spec.id] = sandbox
        self._emit(StateChanged(spec.id))
        return sandbox

    async def run(self, sandbox_id: str, op: Op) -> OpResult:
        """Run one plan op; a refused create is remembered so its container stays visible."""
        sandbox = self._engine_sandbox(sandbox_id)
        if op.op == "create_container" and op.id:
            self._remember_rootfs(op.id, op.args["rootfs"])
        result = await run_op(sandbox, op)
        if op.op == "create_container" and op.id:
            if result.ok:
                self.refused.pop((sandbox_id, op.id), None)
            else:
                self.refused[(sandbox_id, op.id)] = (op.args["rootfs"], result.error or "")
        if not result.ok:  # the error also belongs in the log, scoped to its resource
            fields = {"sandbox": sandbox_id, "subsystem": "console"}
            if op.id and op.op.endswith("_container"):
                fields["container"] = op.id
            line = LogLine(self.now(), "engine", "error", f"{op.op} failed: {result.error}", fields)
            self._history.append(line)
            self._emit(line)
        if op.op == "start_container" and result.ok and op.id:
            self._tail(sandbox, op.id)
        if op.op == "start_sandbox" and result.ok:
            self._watch(sandbox)
        if result.ok and op.op in ("stop_sandbox", "delete_sandbox"):
            # Go's monitor ticks until Delete and would then report the VM it stopped as
            # unreachable; the console stops watching what it stopped itself
            await sandbox.stop_monitor()
            await self._stop_agent(sandbox_id)  # one agent per VM: it goes with the VM
        if result.ok and op.op == "delete_sandbox":
            self._deleted[sandbox_id] = self.sandboxes.pop(sandbox_id)
            self.refused = {k: v for k, v in self.refused.items() if k[0] != sandbox_id}
            self.exits = {k: v for k, v in self.exits.items() if k[0] != sandbox_id}
        if result.ok and op.op == "create_sandbox" and sandbox_id in self._deleted:
            self.sandboxes[sandbox_id] = self._deleted.pop(sandbox_id)  # created again
        self._emit(StateChanged(sandbox_id, op.id))
        return result

    async def kill_agents(self) -> None:
        """SIGKILL every spawned agent (a crashed guest): pending RPCs fail at once."""
        for sandbox in self.sandboxes.values():
            spawned = getattr(sandbox.agent, "spawned", None)
            if spawned is not None:
                with contextlib.suppress(Exception):
                    await spawned.kill()

    async def _stop_agent(self, sandbox_id: str) -> None:
        close = self._closers.pop(sandbox_id, None)
        if close is None:
            return
        for key in [k for k in self._tails if k[0] == sandbox_id]:
            self._tails.pop(key).cancel()
        try:
            await close()
        except Exception as exc:  # the sandbox already stopped; say it, carry on
            self._agent_dead(sandbox_id, f"stopping its agent failed: {exc}")
            return
        if self.agent.stopped(sandbox_id, "stopped with its VM"):
            self._emit(StateChanged(sandbox_id))

    async def close(self) -> None:
        """Stop every stdout tail, health monitor and agent process this source started."""
        for sandbox in self.sandboxes.values():
            await sandbox.stop_monitor()
        tasks = [*self._tails.values(), *self._watches.values()]
        if self._probe is not None:
            tasks.append(self._probe)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._tails.clear()
        self._watches.clear()
        self.bus.stepper.run_freely()
        for sandbox_id in reversed(list(self._closers)):
            with contextlib.suppress(Exception):
                await self._closers.pop(sandbox_id)()
        for sandbox in self.sandboxes.values():  # a VM outlives nothing that started it
            if getattr(sandbox.hypervisor, "running", False):
                with contextlib.suppress(Exception):
                    await sandbox.hypervisor.stop_vm()
        if self._tmp is not None:
            self._tmp.cleanup()

    # ----------------------------------------------------------------- ConsoleSource

    def now(self) -> _dt.datetime:
        return self.bus.clock.now()

    async def load(self) -> list[SandboxView]:
        if self.probe_agents and self._probe is None:
            self._probe = asyncio.get_running_loop().create_task(self._probe_agents())
        chains = self._rootfs_chains()
        views = [self._sandbox_view(sb, chains) for sb in self.sandboxes.values()]
        # each VM asked at once: one that does not answer holds the refresh up once, not once
        # per sandbox
        await asyncio.gather(*(vm_view(self.sandboxes[v.id], v) for v in views))
        return views

    async def chains(self) -> ChainReport:
        if self.host is None:
            return ChainReport()
        return await asyncio.to_thread(
            lambda: resolve_chains(MountTable(self.host.read_mountinfo()), self.host)
        )

    def logs(self) -> list[LogLine]:
        return list(self._history)

    def subscribe(self, callback: Callable[[SourceEvent], None]) -> Unsubscribe:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback) if callback in self._subscribers else None

    def describe(self, op: Operation) -> str:
        return _PREVIEW[op.op].format(s=op.sandbox_id, c=op.container_id or "", w=self.kill_wait)

    def refusal(self, op: Operation) -> str | None:
        """Why `op` cannot apply now (asked before the confirmation), or None."""
        sb = self.sandboxes.get(op.sandbox_id)
        if sb is None:
            if op.sandbox_id in self._deleted:
                return f"sandbox {op.sandbox_id} no longer exists (it was deleted)"
            return f"no sandbox {op.sandbox_id}"
        if op.container_id is None:
            return sandbox_refusal(sb, op.op, self._vm_gone(sb))
        key = (op.sandbox_id, op.container_id)
        if op.op == "create_container" and key not in self.refused and key[1] not in sb.containers:
            return f"no rootfs known for container {op.container_id}"
        refused = self.refused.get(key)
        return container_refusal(
            sb,
            op,
            never_created=refused[1] if refused is not None else None,
            exited=self.exits.get(key),
            agent=self.agent_health(op.sandbox_id),
        )

    async def run_op(self, op: Operation) -> str | None:
        """Run a console operation; returns what the row alone would not say (a killed
        process's exit), raises ConsoleError with the engine's text."""
        sandbox = self.sandboxes.get(op.sandbox_id)
        if sandbox is None:
            raise ConsoleError(f"no sandbox {op.sandbox_id}")
        args: dict[str, Any] = {"force": False, "signal": 15, "all": False}
        if op.op == "create_container":
            key = (op.sandbox_id, op.container_id or "")
            if key not in self.refused:
                raise ConsoleError(f"no rootfs known for container {op.container_id}")
            args.update(rootfs=self.refused[key][0], devices=[], annotations={})
        try:
            result = await self.run(op.sandbox_id, Op(0, op.op, op.container_id, args))
            if result.ok and op.op == "kill_container" and op.container_id:
                return await self._await_exit(sandbox, op.container_id)
        except asyncio.CancelledError:
            self._console_line(op.sandbox_id, op.container_id, "warning", _cancelled(op, sandbox))
            self._emit(StateChanged(op.sandbox_id, op.container_id))
            raise
        if not result.ok:
            raise ConsoleError(result.error or f"{op.op} failed")
        if op.sandbox_id not in self.sandboxes:
            return None  # deleted: its agent is no news
        health = self.agent_health(op.sandbox_id)[0]
        return outcome_note(op.op, health, len(sandbox.containers))

    def agent_health(self, sandbox_id: str) -> Measure:
        """The agent's measured health and its evidence (deleted sandboxes too)."""
        measured = self.agent.health(sandbox_id)
        sb = self.sandboxes.get(sandbox_id) or self._deleted.get(sandbox_id)
        if sb is None or measured[0] == "stopped":
            return measured
        reason = getattr(sb.agent, "dead_reason", None)
        if reason:
            return "dead", reason
        spawned = getattr(sb.agent, "spawned", None)
        code = getattr(spawned, "returncode", None)
        if code is not None:
            return "dead", f"its agent process exited with status {code}"
        return aged(measured, self.agent.measured_at(sandbox_id), self.now(), self.health_interval)

    async def raw_document(self, target: Target, sandboxes: list[SandboxView]) -> RawDocument:
        """The persist.json the engine wrote for a sandbox, container or device (the
        describe view); what the engine holds when it wrote none (a refused container)."""
        sb_id = target[1]
        if sb_id not in self.sandboxes:
            return view_document(target, sandboxes, "the engine holds no such sandbox")
        if target[0] == "container" and (sb_id, target[2]) in self.refused:
            rootfs, error = self.refused[(sb_id, target[2])]
            held_doc = {"refused": error, "rootfs": dataclasses.asdict(rootfs)}
            return held(title_of(target), held_doc, "Kata refused it: no persist.json")
        directory = str(self.store.sandbox_dir(sb_id))

        def fallback() -> RawDocument:
            return view_document(target, sandboxes, "the engine has written no persist.json yet")

        return await asyncio.to_thread(state_document, target, directory, read_file, fallback)


def _cancelled(op: Operation, sb: Sandbox) -> str:
    c = sb.containers.get(op.container_id) if op.container_id else None
    state = c.state if c is not None else sb.state
    return (
        f"{op.op} {op.target} cancelled by the operator while the engine ran it; "
        f"the engine now holds {op.container_id or op.sandbox_id} {state or 'not created'}"
    )
