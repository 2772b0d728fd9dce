"""Step-through: a plan walked one engine step at a time.

The op list on the left (each op's result as it lands), the next step on the right
exactly as the engine describes it before it runs, the sandbox/agent/container state
badges under it, the timeline of finished steps (durations, errors in red, rollback steps
marked), and the live log (engine events and container stdout).

The plan runs in the source's background task; keys only open or close the engine's
`Stepper` gate, so nothing here waits for a step. The view reads the source's
`PlanProgress` on a timer and redraws only when its version moved (never per event).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import DataTable

from kata_console.screens.base import ConsoleScreen
from kata_console.sources.model import SandboxView
from kata_console.sources.plan_source import OpRow, PlanProgress, PlanSource
from widgets.log_pane import LogPane
from widgets.op_list import OpList
from widgets.state_strip import StateStrip
from widgets.step_preview import StepPreview
from widgets.step_timeline import StepTimeline

#: seconds between two reads of the plan's progress (the app drains logs at this pace too)
SYNC_INTERVAL = 0.05
#: the actions that drive the plan (dimmed in the footer when they do not apply)
PLAN_ACTIONS = frozenset({"step", "continue", "pause", "abort"})


class StepThroughScreen(ConsoleScreen):
    """One plan, stepped through: ops, next step, states, timeline, logs."""

    # The plan's keys are priority bindings: they step the plan wherever focus is (the log
    # pane's own `n` and `p` give way on this screen: its `f3` and `Z` find the next match
    # and pause it here), except in a text prompt, which takes printable keys first.
    BINDINGS = [
        Binding("space,n", "step", "Step", id="stepthrough.step", priority=True),
        Binding("c", "continue", "Continue", id="stepthrough.continue", priority=True),
        Binding("p", "pause", "Pause", id="stepthrough.pause", priority=True),
        Binding("a", "abort", "Abort", id="stepthrough.abort", priority=True),
        Binding("l", "focus_logs", "Logs", id="stepthrough.logs"),
        Binding("o", "focus_ops", "Ops", id="stepthrough.ops", show=False),
        Binding("t", "focus_timeline", "Timeline", id="stepthrough.timeline", show=False),
        Binding("tab", "app.focus_next", "Next pane", id="stepthrough.next", show=False),
    ]

    DEFAULT_CSS = """
    StepThroughScreen {
        & #st-top { height: 12; }
        & OpList { width: 60%; height: 1fr; }
        & #st-right { width: 1fr; height: 1fr; }
        & StepPreview {
            height: 1fr;
            border: round $secondary 50%;
            border-title-color: $text;
        }
        & StateStrip {
            border: round $secondary 50%;
            border-title-color: $text;
        }
        & StepTimeline {
            height: 3fr;
            min-height: 6;
            border: round $primary 50%;
            border-title-color: $text;
            border-subtitle-color: $text-muted;
            &:focus { border: round $primary; }
        }
        & LogPane { height: 2fr; min-height: 6; }
    }
    """

    def __init__(self, plan: PlanSource, *, show_durations: bool = True) -> None:
        """Args:
        plan: the plan source (it runs the plan; this view drives its stepper).
        show_durations: False shows `-` instead of step durations.
        """
        super().__init__()
        self.plan = plan
        self.show_durations = show_durations
        # the plan's file is named by the source marker (`source: plan:FILE`) and the ops
        # pane's title: a crumb would say it a third time and cut the marker at 80 columns
        self.crumbs = ("step-through",)
        #: the slow-motion timer while `c` steps slowly (None otherwise)
        self._slow: Timer | None = None
        self._shown: tuple[int, bool, bool] | None = None
        self._mode: tuple[bool, bool] | None = None
        self._failed_seen = 0
        self._ended = False

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="st-top"):
            yield OpList(id="st-ops")
            with Vertical(id="st-right"):
                yield StepPreview(id="st-preview")
                yield StateStrip(id="st-states")
        yield StepTimeline(show_durations=self.show_durations, id="st-timeline")
        yield LogPane(
            title=f"logs: {self.plan.plan.sandbox.id}",
            max_lines=self.kc.log_max_lines,
            cursor_blink=self.kc.cursor_blink,
            id="st-logs",
        )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(OpList).border_title = f"plan: {self.plan.path.name}"
        self.query_one(StepPreview).border_title = "next step"
        self.query_one(StateStrip).border_title = "state"
        timeline = self.query_one(StepTimeline)
        timeline.border_title = "timeline"
        timeline.border_subtitle = "↳ ran after a failed or aborted step (rollback)"
        self.query_one(StateStrip).sandbox = (self.plan.plan.sandbox.id, "")
        self.kc.attach_log_pane(self.query_one(LogPane))
        self.set_interval(SYNC_INTERVAL, self.sync, name="stepthrough-sync")
        self.sync()
        timeline.focus()

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self.sync()

    # ------------------------------------------------------------------ rendering

    def sync(self) -> None:
        """Redraw from the source's progress if anything moved since the last time."""
        plan, progress = self.plan, self.plan.progress
        holding = plan.bus.stepper.holding
        key = (progress.version, holding, plan.running, plan.agent.version)
        if key == self._shown:
            return
        self._shown = key
        self.query_one(OpList).show(progress.ops, progress.current)
        self.query_one(StepTimeline).show(progress.steps)
        self.query_one(StepPreview).show(*self._preview(progress, holding))
        strip = self.query_one(StateStrip)
        strip.sandbox = (plan.plan.sandbox.id, progress.sandbox_state)
        strip.containers = tuple(progress.container_states.items())
        # measured by the source as each RPC ends: read here, not from the last reload
        strip.health = plan.agent_health(plan.plan.sandbox.id)[0]
        self._announce(progress)
        mode = (plan.running, holding)
        if mode != self._mode:
            self._mode = mode
            self.refresh_bindings()

    def show_sandboxes(self, sandboxes: list[SandboxView]) -> None:
        self.query_one(StateStrip).health = self.plan.agent_health(self.plan.plan.sandbox.id)[0]

    def _op_text(self, progress: PlanProgress, index: int | None) -> str:
        if index is None:
            return ""
        row = progress.ops[index]
        return f"op {index}: {row.op}" + (f" {row.target}" if row.target else "")

    def _preview(self, p: PlanProgress, holding: bool) -> tuple[str, str, str]:
        """(phase, step text, detail) for the preview."""
        if p.finished:
            if p.error:
                return "failed", p.error, "no op ran"
            steps = f"{len(p.steps)} steps" + (f" ({p.ran} ran)" if p.ran < len(p.steps) else "")
            summary = f"{p.done} of {len(p.ops)} ops ran, {p.failed} failed, {steps}"
            if p.aborted:
                return "aborted", "", f"aborted by the operator: {summary}; the rest were skipped"
            failed = self._failed_op(p)
            if failed is None:
                return "finished", "", summary
            # the engine's text whole, where there is room for it at any width (the ops
            # table's error column is short or left out when narrow)
            target = f" {failed.target}" if failed.target else ""
            return "failed", f"op {failed.index} {failed.op}{target}: {failed.error}", summary
        op = self._op_text(p, p.current)
        if p.held is not None:
            runs = (
                f"runs in {self.kc.step_delay:g}s · p pauses" if self._slow else "space/n runs it"
            )
            return "held", p.held.text, f"{op} · step {p.held.step} · {runs}"
        if p.running is not None:
            return "running", p.running.text, op
        if not holding and self.plan.running:
            return "free", "", f"{op} · p pauses at the next step".lstrip(" ·")
        if p.current is None:
            return "starting", "", "wiring the sandbox (agent, hypervisor, host)"
        return "running", "", f"{op} · the next step will wait here"

    def _failed_op(self, p: PlanProgress) -> OpRow | None:
        """The failed op under the ops table's cursor, else the first one that failed."""
        key = self.query_one(OpList).selected_key
        at = int(key) if key is not None and key.isdigit() else -1
        if 0 <= at < len(p.ops) and p.ops[at].status == "failed":
            return p.ops[at]
        return next((row for row in p.ops if row.status == "failed"), None)

    def _announce(self, p: PlanProgress) -> None:
        """Status line: each op that fails, and the end of the plan."""
        failed = [row for row in p.ops if row.status == "failed"]
        for row in failed[self._failed_seen :]:
            target = f" {row.target}" if row.target else ""
            self.status(f"op {row.index} {row.op}{target} failed: {row.error}", "error")
        self._failed_seen = len(failed)
        if p.finished and not self._ended:
            self._ended = True
            if p.error:
                self.status(p.error, "error")
            elif p.aborted:
                self.status(f"plan aborted: {p.done} of {len(p.ops)} ops ran", "warning")
            elif not failed:
                self.status(f"plan finished: {len(p.ops)} ops, all ok")

    # ------------------------------------------------------------------ actions

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        """The plan's keys first, so the footer shows them whichever pane has focus (the
        focused pane's keys would come first and push them off an 80-column footer)."""
        bindings = super().active_bindings
        plan = {
            key: active
            for key, active in bindings.items()
            if active.node is self and active.binding.action in PLAN_ACTIONS
        }
        return plan | {key: a for key, a in bindings.items() if key not in plan}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in PLAN_ACTIONS:
            if not self.plan.running:
                return False  # the plan has ended: nothing left to step, not listed
            holding = self.plan.bus.stepper.holding
            slow = self._slow is not None
            if (action == "continue" and (not holding or slow)) or (
                action == "pause" and holding and not slow
            ):
                return None
            return True
        return super().check_action(action, parameters)

    def action_step(self) -> None:
        self._stop_slow_motion()  # a step by hand ends slow motion: held from here
        stepper = self.plan.bus.stepper
        if not self.plan.running:
            self.status("the plan has ended", "warning")
        elif not stepper.holding:
            stepper.hold()
            self.status("stepping: the next step will wait", until=self._step_waits)
        else:
            stepper.release(1)
        self.sync()

    def action_continue(self) -> None:
        delay = self.kc.step_delay
        if self.plan.running and delay > 0:
            # slow motion: still held, one step released every `delay` seconds
            stepper = self.plan.bus.stepper
            stepper.hold()
            stepper.release(1)
            self._stop_slow_motion()
            self._slow = self.set_interval(delay, self._slow_step, name="slow-motion")
            self.status(f"slow motion: one step every {delay:g} s; p pauses")
        elif self.plan.running:
            self.plan.bus.stepper.run_freely()
            self.status(
                "running freely: p pauses at the next step",
                until=lambda: not self.plan.running or self.plan.bus.stepper.holding,
            )
        self.sync()

    def action_pause(self) -> None:
        self._stop_slow_motion()
        if self.plan.running:
            self.plan.bus.stepper.hold()
            self.status("pausing at the next step", until=self._step_waits)
        self.sync()

    def _slow_step(self) -> None:
        if not self.plan.running:
            self._stop_slow_motion()
            return
        self.plan.bus.stepper.release(1)

    def _stop_slow_motion(self) -> None:
        if self._slow is not None:
            self._slow.stop()
            self._slow = None

    def action_abort(self) -> None:
        from kata_console.screens.confirm import ConfirmScreen

        p = self.plan.progress
        if not self.plan.running:
            self.status("the plan has ended", "warning")
            return
        lines = ["cancel the plan task"]
        if p.current is not None:
            lines[0] += f" during {self._op_text(p, p.current)}"
        if p.held is not None:
            lines.append(f"the held step does not run: {p.held.text}")
        lines.append("what the engine does on cancellation (its rollback) runs without stopping")
        rest = [row.index for row in p.ops if row.status == "pending"]
        if rest:
            lines.append(
                f"ops {rest[0]}-{rest[-1]} are skipped"
                if len(rest) > 1
                else f"op {rest[0]} is skipped"
            )

        def answered(ok: bool | None) -> None:
            if ok and self.plan.abort():
                self.status(
                    "aborting the plan...", "warning", until=lambda: self.plan.progress.finished
                )
            elif not ok:
                self.status("abort cancelled: the plan goes on")

        self.app.push_screen(ConfirmScreen("Abort the plan?", "\n".join(lines)), answered)

    def _step_waits(self) -> bool:
        """A step is held at the gate (or the plan ended): "pausing..." is over."""
        return bool(self.plan.bus.stepper.waiting) or not self.plan.running

    def action_focus_logs(self) -> None:
        self.query_one(LogPane).view.focus()

    def action_focus_ops(self) -> None:
        self.query_one(OpList).focus()

    def action_focus_timeline(self) -> None:
        self.query_one(StepTimeline).focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Once the plan ended, the preview shows the error of the failed op under the
        cursor."""
        if isinstance(event.data_table, OpList) and self.plan.progress.finished:
            holding = self.plan.bus.stepper.holding
            self.query_one(StepPreview).show(*self._preview(self.plan.progress, holding))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on an op: drill into its container (or its sandbox)."""
        event.stop()
        if not isinstance(event.data_table, OpList):
            return
        target = event.data_table.target_of(str(event.row_key.value))
        sid = self.plan.plan.sandbox.id
        sb = self.kc.sandbox(sid)
        gone = self.plan.progress.sandbox_state == "deleted"
        if sb is None and gone:
            self.status(f"sandbox {sid} was deleted by the plan", "warning")
        elif sb is None or target is None:
            self.status(f"sandbox {sid} does not exist (yet)", "warning")
        elif target != sid and sb.container(target) is not None:
            self.kc.open_container(sid, target)
        elif target == sid:
            self.kc.open_sandbox(sid)
        else:
            self.status(f"container {target} does not exist (yet)", "warning")
