"""The console reports state truthfully: ages tick, agent health is measured, a kill says
how the process ended, operations that cannot apply are refused with their reason, the
status line never claims what is over, and badges agree with the verdicts under them.

Fixture flows use the fixture source (a frozen clock the test advances); engine flows use
a plan source with in-process agents (and a real agent subprocess for the crash).
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

from rich.console import Console
from textual.widgets import Static

from kata_console.chaintext import layer_label, overlay_label
from kata_console.engine.clock import FrozenClock
from kata_console.screens.confirm import ConfirmScreen
from kata_console.screens.container import ContainerScreen
from kata_console.screens.sandbox import SandboxScreen
from kata_console.screens.sandboxes import SandboxesScreen
from kata_console.sources.engine_events import AGENT_DEAD_CONCLUSION
from kata_console.sources.model import Operation, format_age
from kata_console.sources.plan_source import PlanSource
from tests.test_tui_stepthrough import CRASH, PLANS, STEPTHROUGH, plan_app, settle, step, until
from tests.test_tui_stepthrough import view as stepthrough_view
from tests.tui_support import SIZE, make_app, make_source
from widgets.facts_panel import FactsPanel
from widgets.op_list import OpList
from widgets.resource_table import ResourceTable
from widgets.state_strip import StateStrip
from widgets.status_line import StatusLine
from widgets.step_preview import StepPreview

FIXTURE_CLOCK = _dt.datetime(2026, 3, 2, 9, 30, tzinfo=_dt.UTC)
DEMO_HOST = str(PLANS.parent / "hosts" / "demo.json")
ROOTFS = {
    "type": "overlay",
    "source": "overlay",
    "options": [
        "lowerdir=/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots/1/fs",
        "upperdir=/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots/8/fs",
        "workdir=/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots/8/work",
    ],
}


def write_plan(tmp_path: Path, *ops: dict[str, object], sandbox: str = "sb-s") -> Path:
    spec = {
        "id": sandbox,
        "hypervisor": "sim",
        "agent": "sim",
        "block_device_driver": "virtio-scsi",
        "host": DEMO_HOST,
        "seed": 5,
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"sandbox": spec, "ops": list(ops)}), encoding="utf-8")
    return path


RUNNING_CONTAINER = (
    {"op": "create_sandbox"},
    {"op": "start_sandbox"},
    {"op": "create_container", "id": "c1", "rootfs": ROOTFS},
    {"op": "start_container", "id": "c1"},
)


def plain(cell: object) -> str:
    return getattr(cell, "plain", str(cell)).strip()


def text_of(static: Static) -> str:
    """What a Static shows, as plain text (a rich renderable printed at 120 columns)."""
    console = Console(width=120, color_system=None)
    with console.capture() as out:
        console.print(static.content)
    return out.get()


def status(app) -> StatusLine:  # type: ignore[no-untyped-def]
    return app.screen.query_one(StatusLine)


async def free_plan(pilot, source: PlanSource) -> None:  # type: ignore[no-untyped-def]
    """The plan has run to its end and the app shows its last picture (step-through closed)."""
    await until(pilot, lambda: source.progress.finished)
    await settle(pilot)
    pilot.app.pop_screen()
    pilot.app.reload()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


# ---------------------------------------------------------------------- ages tick


async def test_ages_tick_on_the_fixture_source_without_a_reload() -> None:
    clock = FrozenClock(FIXTURE_CLOCK)
    source = make_source(clock=clock)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#sandboxes", ResourceTable)
        created = app.sandbox("sb-batch").created
        assert plain(table.get_cell("sb-batch", "age")) == "1m"
        clock.advance(3 * 3600)
        await until(pilot, lambda: plain(table.get_cell("sb-batch", "age")) != "1m", 5)
        assert plain(table.get_cell("sb-batch", "age")) == format_age(created, clock.now())
        assert plain(table.get_cell("sb-batch", "age")) == "3h1m"


async def test_ages_tick_on_the_plan_source(tmp_path: Path) -> None:
    clock = FrozenClock()
    source = PlanSource(write_plan(tmp_path, *RUNNING_CONTAINER[:2]), step=False, clock=clock)
    app = make_app(source)  # type: ignore[arg-type]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await free_plan(pilot, source)
            assert isinstance(app.screen, SandboxesScreen)
            table = app.screen.query_one("#sandboxes", ResourceTable)
            before = plain(table.get_cell("sb-s", "age"))
            clock.advance(2 * 86400 + 5 * 3600)
            await until(pilot, lambda: plain(table.get_cell("sb-s", "age")) != before, 5)
            after = plain(table.get_cell("sb-s", "age"))
            assert after != before and after.startswith("2d5h")
    finally:
        await source.close()


# ---------------------------------------------------------------------- agent health


async def test_fixture_stop_turns_the_agent_badge_stopped() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#sandboxes", ResourceTable)
        assert table.get_cell("sb-web", "agent").plain == "ok"
        app.request_op(Operation("stop_sandbox", "sb-web"))
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.sandbox("sb-web").state == "stopped"
        assert table.get_cell("sb-web", "agent").plain == "stopped"


async def test_engine_stop_measures_the_agent_stopped_with_its_vm(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, *RUNNING_CONTAINER, {"op": "stop_sandbox", "force": False})
    source = PlanSource(plan, step=False, clock=FrozenClock())
    app = make_app(source)  # type: ignore[arg-type]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await free_plan(pilot, source)
            table = app.screen.query_one("#sandboxes", ResourceTable)
            assert table.get_cell("sb-s", "agent").plain == "stopped"
            facts = dict(app.sandbox("sb-s").facts)
            assert facts["agent health"] == "stopped with its VM"
    finally:
        await source.close()


async def test_deleted_sandbox_strip_does_not_say_agent_ok() -> None:
    app, source = plan_app(STEPTHROUGH, step=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: source.progress.finished)
            await settle(pilot)
            assert source.progress.sandbox_state == "deleted"
            strip = stepthrough_view(app).query_one(StateStrip)
            assert strip.health == "stopped"  # its agent went with the VM, before the delete
            assert "agent ok" not in " ".join(str(strip.render()).split())
    finally:
        await source.close()


async def test_stepthrough_badge_turns_when_an_rpc_fails_unavailable() -> None:
    # the health monitor never runs here: only the failed RPC itself can turn the badge
    app, source = plan_app(CRASH, health_interval=3600)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = stepthrough_view(app)
            strip = screen.query_one(StateStrip)
            while not any(s.status == "UNAVAILABLE" for s in source.progress.steps):
                await step(pilot)
            assert strip.health == "dead"
    finally:
        await source.close()


async def test_the_console_concludes_a_dead_agent_once() -> None:
    app, source = plan_app(CRASH, step=False, health_interval=0.2)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: source.progress.finished)
            await until(
                pilot, lambda: any(AGENT_DEAD_CONCLUSION in ln.text for ln in source.logs())
            )
            await pilot.pause(1.0)  # several monitor periods: the watcher and the notice
            said = [ln.text for ln in source.logs() if AGENT_DEAD_CONCLUSION in ln.text]
            assert len(said) == 1, said
    finally:
        await source.close()


# ---------------------------------------------------------------------- kill


async def test_kill_shows_the_exit_waitprocess_reports_in_row_and_log(tmp_path: Path) -> None:
    source = PlanSource(write_plan(tmp_path, *RUNNING_CONTAINER), step=False, clock=FrozenClock())
    app = make_app(source)  # type: ignore[arg-type]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await free_plan(pilot, source)
            app.jump_to("sb-s")
            await pilot.pause()
            assert isinstance(app.screen, SandboxScreen)
            containers = app.screen.query_one("#containers", ResourceTable)
            assert containers.get_cell("c1", "exit").plain == "-"
            app.request_op(Operation("kill_container", "sb-s", "c1"))
            await pilot.pause()
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("y")
            await until(pilot, lambda: app.op_results)
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.op_results == [(Operation("kill_container", "sb-s", "c1"), None)]
            assert containers.get_cell("c1", "exit").plain == "143 SIGTERM"
            # the state the engine holds, in the row too
            assert containers.get_cell("c1", "state").plain.strip().endswith("running")
            said = "kill c1: process exited 143 SIGTERM (WaitProcess); the engine holds c1 running"
            assert any(said in line.text for line in source.logs())
            assert said.removeprefix("kill c1: ") in status(app).message
            # the same process cannot be signalled again: refused with the reason
            app._last_request = (None, 0.0)
            app.request_op(Operation("kill_container", "sb-s", "c1"))
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen)
            assert "already exited (143 SIGTERM" in status(app).message
    finally:
        await source.close()


# ---------------------------------------------------------------------- refused up front


async def test_pause_of_a_not_created_container_is_refused_before_any_preview() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.request_op(Operation("pause_container", "sb-batch", "batch"))
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        line = status(app)
        assert line.level == "error"
        assert line.message == (
            "cannot pause sb-batch/batch: container batch is not created: cannot pause_container"
        )
        assert app.source.calls == []  # type: ignore[attr-defined]


async def test_start_of_a_sandbox_whose_vm_is_gone_is_refused(tmp_path: Path) -> None:
    plan = write_plan(tmp_path, *RUNNING_CONTAINER, {"op": "stop_sandbox", "force": False})
    source = PlanSource(plan, step=False, clock=FrozenClock())
    app = make_app(source)  # type: ignore[arg-type]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await free_plan(pilot, source)
            app.request_op(Operation("start_sandbox", "sb-s"))
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen)
            line = status(app)
            assert line.level == "error"
            assert line.message.startswith(
                "cannot start sb-s: its VM and agent were stopped with it"
            )
            assert app.op_results == []
            # the whole reason is in the log too (the status line cuts it at 80 columns)
            await pilot.pause(0.2)
            said = [ln.text for ln in app._history if ln.source == "console"]
            assert any(t.endswith("delete it and create a new one") for t in said)
    finally:
        await source.close()


async def test_never_created_engine_container_pause_is_refused(tmp_path: Path) -> None:
    swappy = {"io.katacontainers.container.resource.swappiness": "300"}
    plan = write_plan(
        tmp_path,
        *RUNNING_CONTAINER[:2],
        {"op": "create_container", "id": "c2", "rootfs": ROOTFS, "annotations": swappy},
    )
    source = PlanSource(plan, step=False, clock=FrozenClock())
    app = make_app(source)  # type: ignore[arg-type]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await free_plan(pilot, source)
            assert app.sandbox("sb-s").container("c2") is not None  # shown, refused
            app.request_op(Operation("pause_container", "sb-s", "c2"))
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen)
            assert status(app).message == (
                "cannot pause sb-s/c2: container c2 was never created (its create failed): "
                "nothing to pause"
            )
    finally:
        await source.close()


# ---------------------------------------------------------------------- long operations


async def test_a_long_operation_shows_elapsed_time_and_can_be_cancelled(tmp_path: Path) -> None:
    slow = {"op": "inject_fault", "target": "agent", "method": "pause_container", "delay": 30}
    plan = write_plan(tmp_path, *RUNNING_CONTAINER, slow)
    source = PlanSource(plan, step=False)
    app = make_app(source)  # type: ignore[arg-type]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await free_plan(pilot, source)
            app.request_op(Operation("pause_container", "sb-s", "c1"))
            await pilot.pause()
            await pilot.press("y")
            await until(pilot, lambda: app._op_running is not None)
            line = status(app)
            assert line.message.startswith("running pause_container sb-s/c1... ")

            def elapsed() -> int:
                return int(line.message.split("... ")[1].split("s", 1)[0])

            await until(pilot, lambda: elapsed() >= 2, 10)  # it counts while it runs
            assert line.message.endswith(" cancels)")
            await pilot.press("ctrl+c")
            await until(pilot, lambda: app.op_results)
            await app.workers.wait_for_complete()
            await pilot.pause()
            _, error = app.op_results[0]
            assert error == "cancelled by the operator"
            assert status(app).level == "error"
            assert "pause_container sb-s/c1 failed after" in status(app).message
            assert any("cancelled by the operator" in line.text for line in source.logs())
            assert not app.is_running or app._op_running is None
    finally:
        await source.close()


async def test_ctrl_c_without_an_operation_still_says_how_to_quit() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running
        assert any("to quit the app" in n.message for n in app._notifications)


# ---------------------------------------------------------------------- status line


async def test_running_freely_notice_clears_when_the_plan_ends(tmp_path: Path) -> None:
    fault = {"op": "inject_fault", "target": "agent", "method": "start_container", "error": "no"}
    plan = write_plan(
        tmp_path,
        *RUNNING_CONTAINER[:3],
        fault,
        {"op": "start_container", "id": "c1"},
        {"op": "stop_sandbox", "force": False},
    )
    source = PlanSource(plan, clock=FrozenClock())
    app = make_app(source)  # type: ignore[arg-type]
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            while source.progress.ops[4].status != "failed":
                await step(pilot)
            line = status(app)
            assert line.level == "error"  # the failed start, announced
            await pilot.press("c")  # "running freely: p pauses at the next step"
            await until(pilot, lambda: source.progress.finished)
            await settle(pilot)
            assert [op.status for op in source.progress.ops][-1] == "ok"
            await until(pilot, lambda: "running freely" not in line.message, 3)
    finally:
        await source.close()


async def test_a_later_error_is_not_hidden_by_the_gone_message() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-batch")
        await pilot.pause()
        app.request_op(Operation("delete_sandbox", "sb-batch"))
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SandboxScreen) and screen.gone
        assert status(app).message == "sandbox sb-batch was deleted"
        assert status(app).level == "info"  # the operator's own delete
        app.report_error("something later went wrong")
        app.reload()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert status(app).level == "error"
        assert status(app).message == "something later went wrong"


async def test_a_deleted_sandbox_screen_says_so_and_offers_only_what_applies() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-batch")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SandboxScreen)
        assert screen.check_action("op_stop", ()) is True
        app.request_op(Operation("delete_sandbox", "sb-batch"))
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen is screen
        facts = screen.query_one("#facts", FactsPanel)
        assert "sandbox sb-batch was deleted" in " ".join(t.plain for t in facts.lines(120))
        for action in ("op_start", "op_stop", "op_delete", "op_create"):
            assert not screen.check_action(action, ())
        assert screen.check_action("back", ())
        shown = {b.binding.action for b in app.active_bindings.values() if b.enabled}
        assert not shown & {"op_start", "op_stop", "op_delete"}


async def test_a_deleted_container_screen_says_so() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-batch/batch")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ContainerScreen)
        app.request_op(Operation("delete_container", "sb-batch", "batch"))
        await pilot.pause()
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.gone
        info = text_of(screen.query_one("#container-info", Static))
        assert "container sb-batch/batch: was deleted" in " ".join(info.split())
        assert not screen.check_action("op_start", ())
        # the operator's own delete, done: what they asked for, not a warning
        assert status(app).message == "container sb-batch/batch: was deleted"
        assert status(app).level == "info"


# ---------------------------------------------------------------------- same error as play


async def test_stepthrough_shows_the_same_errors_as_play() -> None:
    app, source = plan_app(PLANS / "preconditions.json", step=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: source.progress.finished, timeout=30)
            await settle(pilot)
            errors = [r.error for r in source.results if r is not None and not r.ok]
            assert not any("KeyError" in (e or "") for e in errors)
            assert "Sandbox not ready or running, impossible to signal the container" in errors
            assert all(r is not None for r in source.results)
            view = stepthrough_view(app)
            ops = view.query_one(OpList)
            last = len(source.plan.ops) - 1
            error = source.results[last].error
            assert ops.cell(str(last), "error").plain == error
            # the table shows as much of it as fits, marked as cut; the preview has it
            # whole for the failed op under the cursor
            shown = ops.get_cell(str(last), "error").plain
            assert shown == error or (shown.endswith("…") and error.startswith(shown[:-1]))
            ops.focus()
            await pilot.press("end")
            preview = view.query_one(StepPreview)
            assert preview.phase == "failed" and preview.step.endswith(f": {error}")
            first = next(i for i, r in enumerate(source.results) if not r.ok)
            await pilot.press("home", *["down"] * first)
            assert preview.step.endswith(f": {source.results[first].error}")
    finally:
        await source.close()


# ---------------------------------------------------------------------- badges agree


async def test_a_layer_kata_refuses_is_not_green_ok() -> None:
    app = make_app()
    async with app.run_test(size=SIZE):
        c = app.sandbox("sb-batch").container("batch")
        assert c.chain is not None and c.kata_error
        refused = [la for la in c.chain.layers if la.kata_error]
        assert refused, "the fixture has a layer Kata refuses"
        for layer in refused:
            label = layer_label(layer).plain
            assert "[ok]" not in label and "[refused]" in label


async def test_a_rootfs_not_mounted_on_the_host_is_not_ok() -> None:
    app = make_app()
    async with app.run_test(size=SIZE):
        unmounted = [
            c.chain
            for sb in app.sandboxes
            for c in sb.containers
            if c.chain is not None and c.chain.mount_id is not None and c.chain.mount_id < 0
        ]
        assert unmounted, "the fixture has an overlay the host does not mount"
        for chain in unmounted:
            label = overlay_label(chain).plain
            assert "[ok]" not in label and "not mounted on the host" in label


# ---------------------------------------------------------------------- ops table errors


async def test_ops_table_has_the_engine_error_of_each_failed_op() -> None:
    app, source = plan_app(PLANS / "stepthrough-failed-start.json", step=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: source.progress.finished)
            await settle(pilot)
            ops = stepthrough_view(app).query_one(OpList)
            for op in source.progress.ops:
                cell = ops.get_cell(str(op.index), "error").plain.strip()
                if op.status == "failed":
                    assert cell and (op.error or "").startswith(cell.rstrip("…"))
                else:
                    assert cell == ""
            assert any(op.status == "failed" for op in source.progress.ops)
    finally:
        await source.close()
