"""Console flows driven with Pilot: navigation, filter, logs, safety, jump.

Assertions are on app state (screens, table rows, source calls, buffer state), not on
pixels; the snapshot tests cover the pixels.
"""

from __future__ import annotations

import datetime as _dt

from kata_console.screens.confirm import ConfirmScreen
from kata_console.screens.container import ContainerScreen
from kata_console.screens.jump import JumpScreen
from kata_console.screens.sandbox import SandboxScreen
from kata_console.screens.sandboxes import SandboxesScreen
from kata_console.sources.model import LogLine, Operation
from tests.tui_support import SIZE, make_app, make_source, read_only_app
from widgets.breadcrumb import Breadcrumb
from widgets.log_pane import LogPane
from widgets.resource_table import ResourceTable
from widgets.status_line import StatusLine

T0 = _dt.datetime(2026, 3, 2, 10, 0, tzinfo=_dt.UTC)


def status_of(app) -> StatusLine:  # type: ignore[no-untyped-def]
    return app.screen.query_one(StatusLine)


async def test_drill_down_and_back() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, SandboxesScreen)
        table = app.screen.query_one("#sandboxes", ResourceTable)
        assert [str(k.value) for k in table.rows] == ["sb-web", "sb-batch", "sb-legacy"]
        await pilot.press("enter")
        assert isinstance(app.screen, SandboxScreen)
        assert app.screen.sandbox_id == "sb-web"
        containers = app.screen.query_one("#containers", ResourceTable)
        assert [str(k.value) for k in containers.rows] == ["web", "api"]
        await pilot.press("down", "enter")
        assert isinstance(app.screen, ContainerScreen)
        assert app.screen.query_one(Breadcrumb).path == ("sandboxes", "sb-web", "api")
        await pilot.press("escape")
        assert isinstance(app.screen, SandboxScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, SandboxesScreen)
        await pilot.press("escape")  # nothing above the root: stays
        assert isinstance(app.screen, SandboxesScreen)


async def test_filter_hides_rows_and_esc_clears_it() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one("#sandboxes", ResourceTable)
        await pilot.press("slash", *"LEG", "enter")
        assert [str(k.value) for k in table.rows] == ["sb-legacy"]
        assert "1 of 3" in status_of(app).message
        await pilot.press("enter")  # Enter on the filtered row drills into it
        assert isinstance(app.screen, SandboxScreen) and app.screen.sandbox_id == "sb-legacy"
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, SandboxesScreen)
        assert [str(k.value) for k in table.rows] == ["sb-web", "sb-batch", "sb-legacy"]


async def test_agent_dead_badge_in_the_table() -> None:
    app = make_app()
    async with app.run_test(size=SIZE):
        table = app.screen.query_one("#sandboxes", ResourceTable)
        # the console's own conclusion, and said to be: Kata shows no such agent state
        assert table.get_cell("sb-legacy", "agent").plain.strip() == "DEAD  (console check)"
        assert table.get_cell("sb-web", "agent").plain == "ok"


def _lines(n: int, text: str = "line") -> list[LogLine]:
    return [
        LogLine(T0, "stdout", "info", f"{text} {i}", {"sandbox": "sb-web", "container": "web"})
        for i in range(n)
    ]


async def test_log_follow_pause_find() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("logs")
        await pilot.pause()
        pane = app.screen.query_one(LogPane)
        view = pane.view
        pane.push(_lines(200))
        pane.flush()
        await pilot.pause()
        assert view.follow and view.scroll_y == view.max_scroll_y > 0
        # scrolling up turns follow off; new lines do not move the view
        await pilot.press("pageup")
        assert not view.follow
        top = view.scroll_y
        pane.push(_lines(5, "late"))
        pane.flush()
        await pilot.pause()
        assert view.scroll_y == top
        # End turns it back on and goes to the end
        await pilot.press("end")
        await pilot.pause()
        assert view.follow and view.scroll_y == view.max_scroll_y
        # pause: lines are queued, not shown, until resumed
        await pilot.press("p")
        shown = len(pane.buffer)
        pane.push(_lines(3, "queued"))
        assert pane.flush() == 0 and len(pane.buffer) == shown
        await pilot.press("p")
        assert len(pane.buffer) == shown + 3
        # find: highlight + n/N move between matches, wrapping around
        await pilot.press("slash", *"late", "enter")
        assert pane.buffer.find == "late" and len(pane.buffer.matches) == 5
        first = view.current
        assert first == pane.buffer.matches[0]
        await pilot.press("n")
        assert view.current == pane.buffer.matches[1]
        await pilot.press("N", "N")
        assert view.current == pane.buffer.matches[-1]
        # filter hides the other lines (over the whole buffer)
        await pilot.press("backslash", *"queued", "enter")
        assert [e.line.text for e in pane.buffer.visible] == ["queued 0", "queued 1", "queued 2"]
        await pilot.press("backslash", "ctrl+u", "enter")
        assert len(pane.buffer.visible) == len(pane.buffer)


async def test_container_pane_is_scoped_and_live() -> None:
    source = make_source()
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-web/api")
        await pilot.pause()
        pane = app.screen.query_one(LogPane)
        assert {e.line.container_id for e in pane.buffer.visible} == {"api"}
        before = len(pane.buffer)
        for callback in list(source._subscribers):
            callback(
                LogLine(
                    T0,
                    "stdout",
                    "info",
                    "hello from api",
                    {"sandbox": "sb-web", "container": "api"},
                )
            )
            callback(
                LogLine(T0, "stdout", "info", "not mine", {"sandbox": "sb-web", "container": "web"})
            )
        await pilot.pause(0.2)  # two drain/flush ticks
        assert len(pane.buffer) == before + 1
        assert pane.buffer.visible[-1].line.text == "hello from api"


async def test_confirmed_operation_runs_and_updates_the_badge() -> None:
    source = make_source()
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-web/web")
        await pilot.pause()
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        assert 'RPC RemoveContainer{container_id="web", timeout=0}' in app.screen.operation
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert source.calls == [Operation("stop_container", "sb-web", "web")]
        assert app.sandbox("sb-web").container("web").state == "stopped"  # type: ignore[union-attr]
        assert "stop_container sb-web/web: done" in status_of(app).message


async def test_cancelled_operation_does_not_run() -> None:
    source = make_source()
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-web/web")
        await pilot.pause()
        await pilot.press("x", "escape")
        assert isinstance(app.screen, ContainerScreen)
        assert source.calls == []


async def test_failed_operation_is_a_status_line_and_a_log_line() -> None:
    source = make_source()
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-batch/batch")
        await pilot.pause()
        await pilot.press("c", "y")
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        status = status_of(app)
        assert status.level == "error"
        assert "unsupported mount source" in status.message and "fsmeta.erofs" in status.message
        pane = app.screen.query_one(LogPane)
        assert any(
            e.line.level == "error" and "create_container failed" in e.line.text
            for e in pane.buffer.visible
        )
        assert app.op_results[-1][1] is not None and isinstance(app.screen, ContainerScreen)


async def test_read_only_refuses_actions() -> None:
    app = read_only_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-web/web")
        await pilot.pause()
        screen = app.screen
        assert screen.check_action("op_stop", ()) is None  # dimmed in the footer
        assert screen.check_action("help", ()) is True
        await pilot.press("x", "s", "ctrl+d")
        assert isinstance(app.screen, ContainerScreen)
        assert app.source.calls == []  # type: ignore[attr-defined]
        assert "read-only" in status_of(app).notice
        # the guard holds even if something calls request_op directly
        app.request_op(Operation("stop_container", "sb-web", "web"))
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert status_of(app).level == "error"


async def test_allow_actions_overrides_read_only() -> None:
    app = read_only_app(allow_actions=True)
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-web/web")
        await pilot.pause()
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)


async def test_repeated_request_is_debounced() -> None:
    app = make_app(debounce=60.0)  # a window no slow CI run can outlast
    async with app.run_test(size=SIZE) as pilot:
        op = Operation("stop_container", "sb-web", "web")
        app.request_op(op)
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        app.screen.dismiss(False)
        await pilot.pause()
        app.request_op(op)  # the same key again within the window: ignored
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        app.request_op(Operation("pause_container", "sb-web", "web"))  # another op is not
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)


async def test_colon_jumps_to_a_resource_by_name() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("colon")
        assert isinstance(app.screen, JumpScreen)
        await pilot.press(*"legacy", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ContainerScreen) and app.screen.container_id == "legacy"
        # on top of where the user was, so Esc goes back there
        assert [type(s).__name__ for s in app.screen_stack] == [
            "SandboxesScreen",
            "ContainerScreen",
        ]
        await pilot.press("colon", *"chains", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "ChainsScreen"
        await pilot.press("colon", *"nope", "enter")
        await pilot.pause()
        jump = app.screen  # an unknown name keeps the prompt open and says why
        assert isinstance(jump, JumpScreen)
        assert jump.matches_text == "no view or resource named 'nope'"
        await pilot.press("escape")
        assert type(app.screen).__name__ == "ChainsScreen"
        await pilot.press("escape")
        assert type(app.screen).__name__ == "ContainerScreen"


async def test_help_lists_every_key_of_the_view() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-web/web")
        await pilot.pause()
        await pilot.press("question_mark")
        rows = app.screen.rows  # type: ignore[attr-defined]
        ids = {row[2] for row in rows}
        assert {
            "container.stop",
            "nav.back",
            "nav.jump",
            "chain.expand",
            "log.find",
            "log.save",
        } <= ids
        assert all(row[4] for row in rows if row[2] == "container.stop")
        await pilot.press("escape")
        assert isinstance(app.screen, ContainerScreen)


async def test_palette_lists_resources_and_actions_with_keys() -> None:
    from kata_console.screens.palette import ConsoleCommands

    app = make_app()
    async with app.run_test(size=SIZE):
        provider = ConsoleCommands(app.screen)
        titles = {title: help_text.plain for title, _, help_text in provider._commands()}
        assert "container sb-batch/batch" in titles and "sandbox sb-legacy" in titles
        assert titles["action: stop sandbox sb-web"].endswith("[x]")
