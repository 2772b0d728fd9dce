"""`PlanSource`: a `play` plan run by the engine one step at a time (`--source plan:FILE`).

The plan's sandbox is wired like `play` wires it (`EngineSource.add_sandbox`: a spawned or
in-process agent, QEMU or the sim hypervisor, the plan's recorded host), then its ops run in order
in a background task, every one even after one failed. In step mode the engine's `Stepper`
is held from the start, so the first step waits and a `step.held` event says exactly what
it is; the step-through view releases steps one at a time.

`PlanProgress` folds the engine's events (plus the op and plan events emitted here) into
what the step-through view shows: each op's result, the step waiting at the gate, the
timeline of finished steps and the last state of the sandbox and each container. It is
fed synchronously on the engine's loop (appends only) and read by the view on a timer;
`version` tells the view whether anything changed. No textual here.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from kata_console.engine.lifecycle.events import (
    OP_BEGIN,
    OP_END,
    STATE,
    STEP_BEGIN,
    STEP_END,
    STEP_HELD,
    Event,
    Stepper,
)
from kata_console.engine.lifecycle.plan import Op, Plan, PlanError, load_plan
from kata_console.engine.lifecycle.runner import OpResult
from kata_console.engine.ports import Clock
from kata_console.sources.engine_source import EngineSource
from kata_console.sources.model import LogLine, SandboxView
from kata_console.wiring import (
    WiringError,
    make_host_view,
    make_hypervisor,
    resolve_hypervisor,
)

#: the plan task ended (fields: aborted, error)
PLAN_END = "plan.end"


@dataclass(slots=True)
class OpRow:
    """One op of the plan: `status` is pending | running | ok | failed | aborted | skipped."""

    index: int
    op: str
    target: str | None
    status: str = "pending"
    error: str | None = None


#: the status of the step an abort left at the gate
NOT_RUN = "not run"


@dataclass(slots=True)
class StepRow:
    """A finished engine step. `rollback`: it ran after an earlier step of the same op
    failed or the op was aborted (Kata's rollback of a failed start or of a cancelled
    create, or a force stop carrying on)."""

    step: int
    op_index: int | None
    text: str
    container: str | None
    duration: float | None
    status: str
    error: str | None = None
    rollback: bool = False
    #: what the step's peer answered (a QMP command's reply), when the engine has it
    result: str | None = None


@dataclass(slots=True)
class PlanProgress:
    """What the step-through shows, folded from engine events (`apply`)."""

    ops: list[OpRow]
    steps: list[StepRow] = field(default_factory=list)
    #: the step waiting at the gate (text exactly as the engine describes it)
    held: Event | None = None
    #: the innermost step that began and has not ended
    running: Event | None = None
    #: index of the op being run
    current: int | None = None
    sandbox_state: str = ""
    #: container id -> last state, in order of first appearance
    container_states: dict[str, str] = field(default_factory=dict)
    finished: bool = False
    aborted: bool = False
    #: why the plan could not run at all (the agent did not start, ...)
    error: str | None = None
    #: bumped on every event that changed something
    version: int = 0
    _failed_in_op: bool = False
    #: steps begun and not ended, by step id (they nest: a hot-plug runs its QMP commands,
    #: and the health monitor's checks run beside a held step)
    _open: dict[int, Event] = field(default_factory=dict)

    @classmethod
    def of(cls, plan: Plan) -> PlanProgress:
        rows = [
            OpRow(op.index, op.op, op.id if op.id is not None else _sandbox_target(op, plan))
            for op in plan.ops
        ]
        return cls(rows)

    @property
    def failed(self) -> int:
        return sum(1 for row in self.ops if row.status == "failed")

    @property
    def done(self) -> int:
        return sum(1 for row in self.ops if row.status in ("ok", "failed"))

    def rollback_from_here(self) -> None:
        """Mark the current op's next steps as rollback (the op was cancelled). The step
        held at the gate never runs: it takes its place in the timeline as `not run`, so
        the timeline's numbers (the engine's step ids) have no gap where it was."""
        held = self.held
        if held is not None:
            self.steps.append(
                StepRow(held.step or 0, self.current, held.text, held.container, None, NOT_RUN)
            )
            self.held = None
        self._failed_in_op = True
        self.version += 1

    @property
    def ran(self) -> int:
        """Steps that ran (the timeline also has the held step an abort left `not run`)."""
        return sum(1 for row in self.steps if row.status != NOT_RUN)

    def apply(self, e: Event) -> None:
        """Fold one event in (called on the engine's loop: cheap, no IO)."""
        if e.kind == STEP_HELD:
            self.held = e
        elif e.kind == STEP_BEGIN:
            if self.held is not None and self.held.step == e.step:
                self.held = None
            self._open[e.step or 0] = e
            self.running = e
        elif e.kind == STEP_END:
            self._open.pop(e.step or 0, None)
            self.running = next(reversed(self._open.values()), None)
            self.steps.append(
                StepRow(
                    e.step or 0,
                    self.current,
                    e.text,
                    e.container,
                    e.duration,
                    e.status or "",
                    e.error,
                    self._failed_in_op,
                    _result(e),
                )
            )
            if e.error:
                self._failed_in_op = True
        elif e.kind == STATE:
            new = str(e.fields.get("new", ""))
            if e.container:
                self.container_states[e.container] = new
            else:
                self.sandbox_state = "deleted" if e.text.endswith("-> deleted") else new
                if self.sandbox_state == "deleted":  # its containers went with it
                    self.container_states = dict.fromkeys(self.container_states, "deleted")
        elif e.kind == OP_BEGIN:
            index = int(e.fields["index"])
            self.current, self._failed_in_op = index, False
            self.ops[index].status = "running"
        elif e.kind == OP_END:
            row = self.ops[int(e.fields["index"])]
            row.status = {"OK": "ok", "ABORTED": "aborted"}.get(e.status or "", "failed")
            row.error = e.error
            if row.status == "ok" and row.op == "delete_container" and row.target:
                self.container_states[row.target] = "deleted"
            self.held = self.running = None
            self._open.clear()
        elif e.kind == PLAN_END:
            self.finished, self.current = True, None
            self.held = self.running = None
            self._open.clear()
            self.aborted = bool(e.fields.get("aborted"))
            self.error = e.error
            for row in self.ops:
                if row.status in ("pending", "running"):
                    row.status = "skipped"
        else:
            return
        self.version += 1


def _result(e: Event) -> str | None:
    result = e.fields.get("result")
    return None if result is None else str(result)


def _sandbox_target(op: Op, plan: Plan) -> str | None:
    return None if op.op == "inject_fault" else plan.sandbox.id


class PlanSource(EngineSource):
    """The console over one plan, run in the background one op after another."""

    #: the app opens the step-through view for this source
    stepthrough = True

    def __init__(
        self,
        path: str | Path,
        *,
        step: bool = True,
        clock: Clock | None = None,
        state_dir: Path | None = None,
        health_interval: float = 5.0,
    ) -> None:
        """Args:
        path: the plan (`play` format); PlanError (one line) if it cannot be run.
        step: hold the stepper from the start (False: the plan runs freely).
        clock: the engine's clock (a FrozenClock makes times and durations fixed).
        state_dir: where persist files go (default: a private temporary directory).
        health_interval: seconds between agent health checks (a crashed agent turns DEAD).
        """
        self.path = Path(path)
        self.plan = load_plan(self.path)
        spec = self.plan.sandbox
        try:
            host = make_host_view(spec.host)
            # built once and dropped (nothing is started or created): an unusable block
            # driver is refused here, before the first step is shown
            kind, _ = resolve_hypervisor(spec.hypervisor)
            make_hypervisor(kind, block_driver=spec.block_device_driver, run_dir=self.path.parent)
        except WiringError as exc:
            raise PlanError(f"{self.path}: {exc}") from None
        if spec.agent not in ("sim", "spawn") and not spec.agent.startswith("unix://"):
            raise PlanError(
                f'{self.path}: unknown agent {spec.agent!r}: expected "spawn", "sim" or '
                '"unix:///PATH"'
            )
        if spec.agent_faults and spec.agent != "spawn":
            raise PlanError(f'{self.path}: "agent_faults" need "agent": "spawn"')
        super().__init__(
            name=f"plan:{self.path.name}",
            demo=False,
            host=host,
            state_dir=state_dir,
            stepper=Stepper(hold=step),
            health_interval=health_interval,
            clock=clock,
        )
        self.progress = PlanProgress.of(self.plan)
        self.results: list[OpResult | None] = [None] * len(self.plan.ops)
        self._task: asyncio.Task[None] | None = None
        self.bus.subscribe(self.progress.apply)

    # ----------------------------------------------------------------- running

    @property
    def ops(self) -> list[Op]:
        return self.plan.ops

    @property
    def running(self) -> bool:
        """The plan task has started and not ended."""
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start running the plan (idempotent; the first `load()` calls it)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._play(), name="plan")

    async def wait(self) -> None:
        """Until the plan task has ended (finished or aborted)."""
        self.start()
        assert self._task is not None
        await asyncio.wait({self._task})

    def abort(self) -> bool:
        """Cancel the plan task. The step at the gate does not run; what the engine does on
        cancellation (a rollback) runs without stopping; later ops are skipped."""
        if not self.running:
            return False
        assert self._task is not None
        self._task.cancel()
        self.progress.rollback_from_here()
        self.bus.stepper.run_freely()
        return True

    async def load(self) -> list[SandboxView]:
        self.start()
        return await super().load()

    async def close(self, grace: float = 2.0) -> None:
        """Abort the plan and let its rollback run, but not for longer than `grace`
        seconds: after that the agents are killed (like a VM torn down), so a hung or slow
        agent cannot hold the console's exit for minutes of RPC deadlines."""
        if self.running:
            self.abort()
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=grace)
            if not done:
                await self.kill_agents()
            with contextlib.suppress(BaseException):
                await self._task
        await super().close()

    async def _play(self) -> None:
        spec = self.plan.sandbox
        aborted, error = False, None
        try:
            sandbox = await self.add_sandbox(spec)
        except asyncio.CancelledError:
            self._end(True, None)
            raise
        except Exception as exc:  # an agent that cannot start: said once, nothing runs
            self.bus.log(
                "error", f"cannot wire the sandbox: {exc}", subsystem="console", sandbox=spec.id
            )
            self._end(False, f"cannot wire the sandbox: {exc}")
            return
        try:
            for op in self.plan.ops:
                await self._run_one(sandbox.id, op)
        except asyncio.CancelledError:
            aborted = True
            self.bus.log(
                "warning", "plan aborted by the operator", subsystem="console", sandbox=spec.id
            )
            raise
        finally:
            self._end(aborted, error)

    async def _run_one(self, sandbox_id: str, op: Op) -> None:
        fields = {"index": op.index, "op": op.op}
        text = f"{op.op} {op.id}" if op.id else op.op
        self.bus.emit(OP_BEGIN, text, sandbox_id, op.id, fields=fields)
        try:
            result = await self.run(sandbox_id, op)
        except asyncio.CancelledError:
            # the status says it all ("ABORTED"): no error text to repeat it
            self.bus.emit(OP_END, text, sandbox_id, op.id, status="ABORTED", fields=fields)
            raise
        except Exception as exc:  # run_op reports failures itself; this is an engine bug
            result = OpResult(op.op, op.id, False, f"{type(exc).__name__}: {exc}", "", None)
        self.results[op.index] = result
        self.bus.emit(
            OP_END,
            text,
            sandbox_id,
            op.id,
            status="OK" if result.ok else "FAILED",
            error=result.error,
            level="info" if result.ok else "error",
            fields=fields,
        )

    def _on_event(self, e: Event) -> None:
        """Engine events become log lines (EngineSource); op boundaries do too, so the log
        pane reads as the plan: `-- op 3: start_container c1`."""
        if e.kind not in (OP_BEGIN, OP_END):
            super()._on_event(e)
            return
        fields = {**e.fields, "sandbox": e.sandbox, "subsystem": "plan"}
        if e.container:
            fields["container"] = e.container
        index = e.fields.get("index")
        if e.kind == OP_BEGIN:
            line = LogLine(e.time, "engine", "info", f"-- op {index}: {e.text}", fields)
        elif e.status == "OK":
            line = LogLine(e.time, "engine", "info", f"-- op {index}: {e.text}: ok", fields)
        else:
            text = f"-- op {index}: {e.text}: {e.status} {e.error or ''}".rstrip()
            line = LogLine(e.time, "engine", "error", text, fields)
        self._history.append(line)
        self._emit(line)

    def _end(self, aborted: bool, error: str | None) -> None:
        # The plan is over: console actions run on the same bus and must not wait at a gate
        # that no step-through key can open any more.
        self.bus.stepper.run_freely()
        self.bus.emit(
            PLAN_END,
            "plan aborted" if aborted else "plan finished",
            self.plan.sandbox.id,
            error=error,
            fields={"aborted": aborted},
        )
