"""The step-through view (`--source plan:FILE`): snapshots and flows.

Snapshots use in-process agents (`"agent": "sim"`), fixed seeds (device ids) and a frozen
clock (event times, step durations), so every frame is the same on every run. The flows
assert on the source's progress and the widgets' state; the agent crash runs a real
agent subprocess that exits while handling StartContainer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets._footer import FooterKey

from kata_console.app import KataConsole
from kata_console.cli import tui
from kata_console.engine.clock import FrozenClock
from kata_console.engine.lifecycle.plan import PlanError
from kata_console.screens.confirm import ConfirmScreen
from kata_console.screens.sandboxes import SandboxesScreen
from kata_console.screens.stepthrough import StepThroughScreen
from kata_console.sources.plan_source import PlanSource
from tests.tui_support import SIZE, make_app
from widgets.log_pane import LogPane
from widgets.op_list import OpList
from widgets.state_strip import StateStrip
from widgets.status_line import StatusLine
from widgets.step_preview import StepPreview
from widgets.step_timeline import StepTimeline

PLANS = Path(__file__).resolve().parents[1] / "fixtures" / "plans"
STEPTHROUGH = PLANS / "stepthrough.json"
FAILED_START = PLANS / "stepthrough-failed-start.json"
CRASH = PLANS / "agent-crash-on-start.json"

RunBefore = Callable[[Pilot[None]], Awaitable[None]]


def plan_app(path: Path, **kwargs: object) -> tuple[KataConsole, PlanSource]:
    source = PlanSource(path, clock=FrozenClock(), **kwargs)  # type: ignore[arg-type]
    return make_app(source), source  # type: ignore[arg-type]


def view(app: KataConsole) -> StepThroughScreen:
    screen = app.screen
    assert isinstance(screen, StepThroughScreen), screen
    return screen


async def until(pilot: Pilot[None], cond: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the plan")
        await pilot.pause(0.01)


def quiet(source: PlanSource) -> bool:
    """The engine is at rest: a step waits at the gate, or the plan has ended."""
    return bool(source.bus.stepper.waiting) or source.progress.finished


async def settle(pilot: Pilot[None]) -> None:
    """Engine at rest, every event drained into the view and the log pane, redrawn."""
    app = pilot.app
    assert isinstance(app, KataConsole)
    source = app.source
    assert isinstance(source, PlanSource)
    await until(pilot, lambda: quiet(source))
    await pilot.pause()
    app._drain()  # the app's 50 ms timer, now: the log pane must hold every line
    await app.workers.wait_for_complete()
    screen = view(app)
    screen.sync()
    screen.query_one(LogPane).flush()
    await pilot.pause()
    await pilot.pause()


async def step(pilot: Pilot[None], key: str = "space") -> None:
    """Press a step key and wait until that step has landed and the engine rests again."""
    source = pilot.app.source
    assert isinstance(source, PlanSource)
    before = len(source.progress.steps)
    await pilot.press(key)
    await until(pilot, lambda: len(source.progress.steps) > before and quiet(source))
    await settle(pilot)


def steps_then_settle(*keys: str) -> RunBefore:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        for key in keys:
            if key in ("space", "n"):
                await step(pilot, key)
            else:
                await pilot.press(key)
                await settle(pilot)

    return run_before


# ---------------------------------------------------------------------- snapshots


def test_stepthrough_before_first_step(snap_compare) -> None:
    app, _ = plan_app(STEPTHROUGH)
    assert snap_compare(app, terminal_size=SIZE, run_before=steps_then_settle())


def test_stepthrough_during(snap_compare) -> None:
    app, _ = plan_app(STEPTHROUGH)
    keys = ("space",) * 5
    assert snap_compare(app, terminal_size=SIZE, run_before=steps_then_settle(*keys))


def test_stepthrough_after_failed_start(snap_compare) -> None:
    app, _ = plan_app(FAILED_START)
    assert snap_compare(app, terminal_size=SIZE, run_before=steps_then_settle("c"))


# ---------------------------------------------------------------------- flows


async def test_step_through_create_start_stop_states_in_order() -> None:
    app, source = plan_app(STEPTHROUGH)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = view(app)
            preview, strip = screen.query_one(StepPreview), screen.query_one(StateStrip)
            timeline = screen.query_one(StepTimeline)
            assert preview.phase == "held" and preview.step == "start VM (sim)"
            seen: list[tuple[str, str]] = []  # (container state, step that just landed)
            keys = ["space", "n"]
            while not source.progress.finished:
                assert preview.phase == "held"
                previewed = preview.step
                await step(pilot, keys[len(source.progress.steps) % 2])
                landed = source.progress.steps[-1]
                # the preview said exactly what then ran
                assert landed.text == previewed and landed.status == "OK"
                assert timeline.shown == len(source.progress.steps)
                state = dict(strip.containers).get("c1")
                if state is not None and (not seen or seen[-1][0] != state):
                    seen.append((state, landed.text))
            assert [s for s, _ in seen] == ["ready", "running", "stopped", "deleted"]
            assert seen[0][1].startswith("RPC CreateContainer{")
            assert seen[1][1] == 'RPC StartContainer{container_id="c1"}'
            assert seen[2][1].startswith("unplug block drive-")  # stop lands after detach
            assert seen[3][1].startswith("remove ")  # delete_sandbox takes its containers
            assert strip.sandbox == ("sb-step", "deleted")
            assert [op.status for op in source.progress.ops] == ["ok"] * 7
            assert preview.phase == "finished"
            assert "plan finished: 7 ops, all ok" in screen.query_one(StatusLine).message
            # the plan has ended: its keys are not offered any more
            for action in ("step", "continue", "pause", "abort"):
                assert screen.check_action(action, ()) is False
            # the log pane got the engine's events
            texts = [e.line.text for e in screen.query_one(LogPane).buffer.visible]
            assert '> RPC StartContainer{container_id="c1"}' in texts
            # Esc goes to the sandboxes list, T comes back to the same view
            await pilot.press("escape")
            assert isinstance(app.screen, SandboxesScreen)
            await pilot.press("T")
            assert app.screen is screen
    finally:
        await source.close()


async def test_log_pane_finds_and_pauses_on_its_other_keys_there() -> None:
    """`n` and `p` step and pause the plan wherever focus is; in the focused log pane
    `f3` / `shift+f3` go to the next / previous match and `Z` pauses the log, and the
    footer and `?` offer those keys there."""
    from kata_console.screens.help import HelpScreen

    app, source = plan_app(STEPTHROUGH)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            for _ in range(4):
                await step(pilot)
            screen = view(app)
            pane = screen.query_one(LogPane)
            await pilot.press("l", "slash", *"step", "enter")
            await settle(pilot)
            matches, log = pane.buffer.matches, pane.view
            assert len(matches) >= 2 and log.current == matches[0]
            steps = len(source.progress.steps)
            await pilot.press("f3")
            assert log.current == matches[1]
            await pilot.press("shift+f3")
            assert log.current == matches[0]
            await pilot.press("Z")
            assert pane.paused and source.bus.stepper.holding
            assert len(source.progress.steps) == steps  # none of them stepped the plan
            await pilot.pause()
            shown = {k.key: (k.action, k.description) for k in screen.query(FooterKey)}
            assert shown["f3"] == ("next_match('f3')", "Next") and "n" not in shown
            assert shown["Z"] == ("pause_view('Z')", "Pause log") and shown["p"][0] == "pause"
            await pilot.press("Z")
            assert not pane.paused
            await pilot.press("question_mark")
            help_screen = app.screen
            assert isinstance(help_screen, HelpScreen)
            ids = {row[0]: row[2] for row in help_screen.rows}
            assert ids["f3"] == "log.next" and ids["shift+f3"] == "log.previous"
            assert ids["Z"] == "log.pause" and ids["n"] == "stepthrough.step"
            await pilot.press("escape")
    finally:
        await source.close()


async def test_header_names_the_plan_once_and_parts_it_from_the_path() -> None:
    """The plan's file is the source marker's (and the ops pane's): the breadcrumb does not
    repeat it, so at 80 columns the marker is whole; where it is tight, a `·` parts it
    from the path."""
    from widgets.breadcrumb import Breadcrumb

    app, source = plan_app(CRASH)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            line = view(app).query_one(Breadcrumb).render().plain
            assert line.count("agent-crash-on-start.json") == 1, line
            assert "step-through \u203a" not in line, line  # no crumb after it
            assert "source: plan:agent-crash-on-start.json" in line, line
            await pilot.resize_terminal(60, 24)
            await pilot.pause()
            line = view(app).query_one(Breadcrumb).render().plain
            assert "step-through \u00b7 source: \u2026" in line, line
    finally:
        await source.close()


async def test_state_pane_keeps_each_badge_whole_at_80_columns() -> None:
    """A sandbox id too long for the state pane's line loses the word "sandbox" first,
    so the id keeps its badge; never a line ending between `●` and its word, and the
    pane needs no more rows than it has."""
    app, source = plan_app(PLANS / "preconditions.json")
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("c")
            await until(pilot, lambda: source.progress.finished)
            await settle(pilot)
            strip = view(app).query_one(StateStrip)
            assert strip.sandbox == ("demo-preconditions", "deleted")
            lines = strip.render().plain.splitlines()
            assert all(len(line) <= strip.size.width for line in lines), lines
            assert not [line for line in lines if line.rstrip().endswith("\u25cf")], lines
            assert lines[0].startswith("demo-preconditions \u25cf deleted"), lines
            assert len(lines) <= strip.size.height, lines
    finally:
        await source.close()


async def test_continue_pause_and_step_while_running_freely() -> None:
    app, source = plan_app(STEPTHROUGH)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = view(app)
            assert screen.check_action("continue", ()) is True
            assert screen.check_action("pause", ()) is None  # already holding
            # pause first, then continue: the stepper must be free and the plan end
            await pilot.press("p")
            assert source.bus.stepper.holding
            await pilot.press("c")
            await until(pilot, lambda: source.progress.finished)
            await settle(pilot)
            assert len(source.progress.steps) == 19
            assert not source.bus.stepper.holding
    finally:
        await source.close()


async def test_agent_killed_mid_start_shows_error_and_rollback() -> None:
    app, source = plan_app(CRASH, health_interval=0.2)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = view(app)
            preview = screen.query_one(StepPreview)
            while preview.step != 'RPC StartContainer{container_id="c1"}':
                await step(pilot)
            strip = screen.query_one(StateStrip)
            assert dict(strip.containers)["c1"] == "ready"
            await step(pilot)  # the agent process exits while handling StartContainer
            await pilot.press("c")  # let the rollback run
            await until(pilot, lambda: source.progress.finished)
            await settle(pilot)
            steps = [s for s in source.progress.steps if s.op_index == 3]
            start, *rollback = steps
            assert start.text == 'RPC StartContainer{container_id="c1"}'
            assert start.status == "UNAVAILABLE"
            assert (start.error or "").startswith("rpc error: code = Unavailable desc = ")
            names = [s.text.split("{")[0] for s in rollback]
            assert names[:3] == ["RPC SignalProcess", "RPC WaitProcess", "RPC RemoveContainer"]
            assert all(s.rollback for s in rollback)
            assert rollback[-1].text.startswith("unplug block drive-")
            # the timeline shows the error in red, on its own line under the step
            timeline = screen.query_one(StepTimeline)
            cell = timeline.get_cell(str(start.step), "text")
            assert (
                isinstance(cell, Text) and "✗ rpc error: code = Unavailable desc = " in cell.plain
            )
            assert "red" in str(cell.spans[0].style)
            rb = timeline.get_cell(str(rollback[0].step), "text")
            assert isinstance(rb, Text) and rb.plain.startswith("↳ RPC SignalProcess")
            # the op failed, the next op still ran, the container ended stopped
            ops = screen.query_one(OpList)
            assert ops.get_cell("3", "result").plain.strip() == "✗ FAILED"
            assert [op.status for op in source.progress.ops] == ["ok"] * 3 + ["failed", "ok"]
            assert dict(strip.containers)["c1"] == "stopped"
            status = screen.query_one(StatusLine)
            assert status.level == "error" and "start_container c1 failed" in status.message
            # the health monitor finds the dead agent: the badge turns red
            await until(pilot, lambda: strip.health == "dead")
    finally:
        await source.close()


async def test_abort_asks_then_cancels_the_plan_and_stops_the_agent() -> None:
    app, source = plan_app(CRASH)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = view(app)
            preview = screen.query_one(StepPreview)
            while not preview.step.startswith("RPC CreateContainer{"):
                await step(pilot)
            held = preview.step
            await pilot.press("a")
            assert isinstance(app.screen, ConfirmScreen)
            assert held in app.screen.operation and "ops 3-4 are skipped" in app.screen.operation
            await pilot.press("n")  # cancelled: nothing changes
            assert app.screen is screen and source.running
            await pilot.press("a")
            await pilot.press("y")
            await until(pilot, lambda: source.progress.finished)
            await settle(pilot)
            progress = source.progress
            assert progress.aborted
            assert [op.status for op in progress.ops] == [
                "ok",
                "ok",
                "aborted",
                "skipped",
                "skipped",
            ]
            # the held step never ran: the timeline says so in its place
            assert [s.status for s in progress.steps if s.text == held] == ["not run"]
            # what the engine undid on cancellation is in the timeline, marked as rollback
            undone = [s for s in progress.steps if s.op_index == 2 and s.rollback]
            assert undone and undone[-1].text.startswith("unshare rootfs ")
            assert preview.phase == "aborted"
            # the plan has ended: its keys are not listed (they have nothing to do)
            assert screen.check_action("step", ()) is False
            await pilot.pause()
            shown = [k.description for k in screen.query(FooterKey) if k.display]
            assert not {"Step", "Continue", "Pause", "Abort"} & set(shown), shown
            # "■ aborted" once: no error text repeating it
            ops = screen.query_one(OpList)
            assert ops.cell("2", "result").plain.strip() == "■ aborted"
            assert ops.cell("2", "error").plain == ""
            spawned = source.sandboxes["sb-crash"].agent.spawned  # type: ignore[attr-defined]
            assert spawned.returncode is None  # alive until the console goes
    finally:
        await source.close()
    assert spawned.returncode is not None  # closing the source stopped the agent process


async def test_abort_numbers_the_timeline_as_the_summary_counts() -> None:
    """stepthrough.json, seven steps, abort: the held step takes its number in the
    timeline as `not run` (no gap), the summary counts the rows and says how many ran,
    and neither the ops table nor the log says `aborted` twice."""
    app, source = plan_app(STEPTHROUGH)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            for _ in range(7):
                await step(pilot, "n")
            held = source.progress.held
            assert held is not None
            await pilot.press("a", "y")
            await until(pilot, lambda: source.progress.finished)
            await settle(pilot)
            screen = view(app)
            steps = source.progress.steps
            numbers = [row.step for row in steps]
            assert sorted(numbers) == list(range(1, len(steps) + 1)), numbers
            assert [(r.step, r.status) for r in steps if r.status == "not run"] == [
                (held.step, "not run")
            ]
            timeline = screen.query_one(StepTimeline)
            assert timeline.shown == len(steps)
            last = timeline.get_row_at(timeline.row_count - 1)[0].plain
            detail = screen.query_one(StepPreview).detail
            assert f"{len(steps)} steps ({len(steps) - 1} ran)" in detail, detail
            assert last == str(len(steps))
            ops = screen.query_one(OpList)
            aborted = [row.index for row in source.progress.ops if row.status == "aborted"]
            assert ops.cell(str(aborted[0]), "result").plain.strip() == "\u25a0 aborted"
            texts = [e.line.text.lower() for e in screen.query_one(LogPane).buffer.visible]
            assert not [t for t in texts if "aborted aborted" in t], texts
            assert any(t.endswith(": aborted") for t in texts), texts
    finally:
        await source.close()


async def test_plan_source_headless_free_run() -> None:
    source = PlanSource(FAILED_START, step=False, clock=FrozenClock())
    try:
        await source.load()
        await source.wait()
        results = source.results
        assert [r.ok for r in results if r] == [True, True, True, True, False]
        assert results[4] is not None and results[4].container_state == "stopped"
        assert source.progress.failed == 1 and not source.progress.aborted
        assert {s.duration for s in source.progress.steps} == {0.0}  # frozen clock
    finally:
        await source.close()


# ---------------------------------------------------------------------- CLI


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("plan:", "needs a plan file"),
        ("plan:/nonexistent/plan.json", "no such plan file"),
    ],
)
def test_bad_plan_source_is_one_line_exit_2(
    spec: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tui.main(["--source", spec]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1


def test_invalid_plans_are_refused_before_anything_runs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not JSON"):
        tui.make_source(f"plan:{bad}", False)
    faults = tmp_path / "faults.json"
    doc = {"sandbox": {"id": "sb-x", "agent": "sim", "agent_faults": ["Check=crash"]}, "ops": []}
    faults.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(PlanError, match='"agent_faults" need "agent": "spawn"'):
        PlanSource(faults)
