"""`EngineSource`: the console over the real lifecycle engine and real (spawned) agents.

Sandboxes here are `kata_console.engine.lifecycle.sandbox.Sandbox` objects wired exactly as `play`
wires them (`kata_console.wiring`): one simulated guest agent process per sandbox, a sim
hypervisor, a recorded host for the EROFS layers. Every sandbox shares one `EventBus`, so
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

from kata_console.engine.ids import RandomIds, SeededIds
from kata_console.engine.lifecycle.container import ContainerConfig
from kata_console.engine.lifecycle.events import (
    LOG,
    STATE,
    STEP_BEGIN,
    STEP_END,
    Event,
    EventBus,
    Stepper,
)
from kata_console.engine.lifecycle.plan import Op, SandboxSpec
from kata_console.engine.lifecycle.runner import OpResult, run_op
from kata_console.engine.lifecycle.sandbox import Sandbox, SandboxConfig
from kata_console.engine.mounts.chainmodel import Chain, ChainReport
from kata_console.engine.mounts.chains import resolve_chains
from kata_console.engine.mounts.mounttable import MountTable
from kata_console.engine.mounts.rootfs import RootFs, parse_erofs_rootfs_options
from kata_console.engine.persist.store import PersistStore
from kata_console.engine.ports import Clock, HostView
from kata_console.sources.model import (
    ConsoleError,
    ContainerView,
    DeviceView,
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
from kata_console.sources.rootfs_chains import RootfsSpec, rootfs_chains
from kata_console.wiring import make_agent, make_hypervisor

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
    "kill_container": 'RPC SignalProcess{{container_id="{c}", exec_id="{c}", signal=15}}',
    "delete_container": "remove container {c} from sandbox {s} (no device detach: stop does that)",
}


#: the console's line when it gives up on an agent (not a Kata text)
AGENT_DEAD_CONCLUSION = "kata-console: treating the agent as dead"


class EngineSource:
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
    ) -> None:
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
        config = SandboxConfig(
            spec.id,
            hypervisor_type=spec.hypervisor,
            block_device_driver=spec.block_device_driver,
            disable_block_device_use=spec.disable_block_device_use,
        )
        ids = SeededIds(spec.seed) if spec.seed is not None else RandomIds()
        sandbox = Sandbox(
            config,
            agent=agent,
            hypervisor=make_hypervisor(spec.hypervisor, block_driver=spec.block_device_driver),
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
        sandbox = self.sandboxes[sandbox_id]
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
            del self.sandboxes[sandbox_id]
            self.refused = {k: v for k, v in self.refused.items() if k[0] != sandbox_id}
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

    async def close(self) -> None:
        """Stop every stdout tail, health monitor and agent process this source started."""
        for sandbox in self.sandboxes.values():
            await sandbox.stop_monitor()
        tasks = [*self._tails.values(), *self._watches.values()]
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
        if self._tmp is not None:
            self._tmp.cleanup()

    # ----------------------------------------------------------------- ConsoleSource

    def now(self) -> _dt.datetime:
        return self.bus.clock.now()

    async def load(self) -> list[SandboxView]:
        chains = self._rootfs_chains()
        return [self._sandbox_view(sb, chains) for sb in self.sandboxes.values()]

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
        return _PREVIEW[op.op].format(s=op.sandbox_id, c=op.container_id or "")

    async def run_op(self, op: Operation) -> None:
        sandbox = self.sandboxes.get(op.sandbox_id)
        if sandbox is None:
            raise ConsoleError(f"no sandbox {op.sandbox_id}")
        args: dict[str, Any] = {"force": False, "signal": 15, "all": False}
        if op.op == "create_container":
            key = (op.sandbox_id, op.container_id or "")
            if key not in self.refused:
                raise ConsoleError(f"no rootfs known for container {op.container_id}")
            args.update(rootfs=self.refused[key][0], devices=[], annotations={})
        result = await self.run(op.sandbox_id, Op(0, op.op, op.container_id, args))
        if not result.ok:
            raise ConsoleError(result.error or f"{op.op} failed")

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

    # ----------------------------------------------------------------- views

    def _sandbox_view(self, sb: Sandbox, chains: dict[str, Chain]) -> SandboxView:
        containers = [
            self._container_view(sb, c.id, c.state, c.config, chains)
            for c in sb.containers.values()
        ]
        containers += [
            self._container_view(sb, cid, "", ContainerConfig(cid, rootfs), chains, error)
            for (sid, cid), (rootfs, error) in self.refused.items()
            if sid == sb.id and cid not in sb.containers
        ]
        agent = sb.agent
        if getattr(agent, "dead", False):
            health = "dead"
        elif sb.state in ("ready", "running", "paused"):
            health = "ok"
        else:
            health = "unknown"
        facts = [
            ("agent", getattr(agent, "url", "in-process sim")),
            ("block driver", sb.config.block_device_driver),
            ("block indexes in use", ", ".join(map(str, sorted(sb.block_index_map))) or "-"),
        ]
        spawned = getattr(agent, "spawned", None)
        if spawned is not None:
            gone = sb.id not in self._closers
            facts.append(
                ("agent pid", f"{spawned.pid} (stopped with the VM)" if gone else str(spawned.pid))
            )
        devices = [
            DeviceView(
                r.id,
                r.host_path,
                r.kind,
                r.refcount,
                r.attach_count,
                r.index,
                r.address,
                r.read_only,
            )
            for r in sb.device_rows()
        ]
        return SandboxView(
            sb.id,
            sb.state or "",
            sb.config.hypervisor_type,
            health,
            containers,
            devices,
            sb.created,
            facts,
        )

    def _container_view(
        self,
        sb: Sandbox,
        cid: str,
        state: str,
        config: ContainerConfig,
        chains: dict[str, Chain],
        error: str | None = None,
    ) -> ContainerView:
        rootfs = config.rootfs
        chain = chains.get(cid)
        lowers, _ = parse_erofs_rootfs_options(rootfs.options)
        kind = "erofs" if chain is not None and chain.erofs else (rootfs.type or "-")
        c = sb.containers.get(cid)
        devices = [d.id for d in c.devices] if c is not None else []
        pid = c.process.pid if c is not None and c.process.pid > 0 else None
        return ContainerView(
            cid,
            sb.id,
            state,
            kind,
            len(lowers),
            pid,
            chain,
            error or (chain.kata_verdict if chain is not None else None),
            devices,
        )

    def _rootfs_chains(self) -> dict[str, Chain]:
        if self._chains is None:
            if self.host is None or not self.rootfs:
                self._chains = {}
            else:
                self._chains = rootfs_chains(self.host, self.host.read_mountinfo(), self.rootfs)
        return self._chains

    def _remember_rootfs(self, cid: str, rootfs: RootFs) -> None:
        lowers, upper = parse_erofs_rootfs_options(rootfs.options)
        if lowers and cid not in self.rootfs:
            self.rootfs[cid] = RootfsSpec(tuple(lowers), upper or None)
            self._chains = None

    # ----------------------------------------------------------------- events

    def _on_event(self, e: Event) -> None:
        fields = {**e.fields, "sandbox": e.sandbox}
        if e.container:
            fields["container"] = e.container
        if e.kind == STEP_BEGIN:
            line = LogLine(e.time, "engine", "info", f"> {e.text}", fields)
        elif e.kind == STEP_END:
            if e.error:
                line = LogLine(e.time, "engine", "error", f"! {e.text}: {e.error}", fields)
            else:
                ms = (e.duration or 0) * 1000
                line = LogLine(e.time, "engine", "debug", f"  done {e.text} ({ms:.1f} ms)", fields)
        elif e.kind in (LOG, STATE):
            line = LogLine(e.time, "engine", e.level, e.text, fields)
        else:
            return
        self._history.append(line)
        self._emit(line)
        if e.kind == STATE:
            self._emit(StateChanged(e.sandbox, e.container))

    def _watch(self, sb: Sandbox) -> None:
        """What Go's shim does once a sandbox started (`watchSandbox`): wait on the health
        monitor. On an error Go's shim stops and deletes the sandbox, and the delete stops
        the monitor; the console stops the monitor too (it would otherwise notify every
        interval), says what it concluded, and keeps the sandbox for the operator to see."""
        if sb.id in self._watches:
            return
        watcher = sb.monitor(self.health_interval)

        async def watch() -> None:
            error = await watcher.get()
            if error is not None:
                await sb.stop_monitor()
                self._agent_dead(sb.id, error)

        self._watches[sb.id] = asyncio.get_running_loop().create_task(watch())

    def _agent_dead(self, sandbox_id: str, reason: str) -> None:
        """The console's own conclusion (Kata's runtime says `mark agent dead` and nothing
        an operator sees): the agent does not answer, its badge turns red."""
        line = LogLine(
            self.now(),
            "console",
            "error",
            f"{AGENT_DEAD_CONCLUSION}: {reason}",
            {"sandbox": sandbox_id, "subsystem": "console"},
        )
        self._history.append(line)
        self._emit(line)
        self._emit(StateChanged(sandbox_id))

    def _tail(self, sb: Sandbox, cid: str) -> None:
        """Stream the container's stdout from the agent (ReadStdout) into the log."""
        lines = getattr(sb.agent, "stdout_lines", None)
        if lines is None or (sb.id, cid) in self._tails:
            return

        async def tail() -> None:
            with contextlib.suppress(Exception):
                async for text in lines(cid):
                    line = LogLine(
                        self.now(),
                        "stdout",
                        "info",
                        text,
                        {"sandbox": sb.id, "container": cid, "subsystem": "stdout"},
                    )
                    self._history.append(line)
                    self._emit(line)
            self._tails.pop((sb.id, cid), None)

        self._tails[(sb.id, cid)] = asyncio.get_running_loop().create_task(tail())

    def _emit(self, event: SourceEvent) -> None:
        for callback in tuple(self._subscribers):
            with contextlib.suppress(Exception):
                callback(event)
