"""A source that drives no Kata runtime (a live host, a recording) offers no lifecycle
action and does not point to a flag that could not make one apply; a recording offers no
shim metrics either (there is no shim to ask). What is gone is said to be gone."""

from __future__ import annotations

import pytest
from textual.widgets._footer import FooterKey

from kata_console.app import KataConsole
from kata_console.engine.clock import FrozenClock
from kata_console.screens.describe import DescribeScreen
from kata_console.screens.sandbox import SandboxScreen
from kata_console.sources.host_source import HostSource
from tests.test_tui_host import NODE, _recorded_at, host_app
from tests.test_tui_sizes import settle
from tests.tui_support import make_app
from widgets.status_line import StatusLine

LIFECYCLE = {"Start", "Stop", "Delete", "Create", "Kill", "Pause", "Resume", "Metrics"}


def recording(allow_actions: bool) -> KataConsole:
    source = HostSource(snapshot=str(NODE), clock=FrozenClock(_recorded_at()))
    return host_app(source, allow_actions=allow_actions)


@pytest.mark.parametrize("allow_actions", [False, True])
async def test_a_recording_offers_no_lifecycle_action_and_no_flag(allow_actions: bool) -> None:
    app = recording(allow_actions)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        for where in ("sandboxes", "sb-web", "sb-web/web"):
            app.jump_to(where)
            await settle(pilot)
            shown = {k.description for k in app.screen.query(FooterKey) if k.display}
            assert not LIFECYCLE & shown, (where, shown)
            assert app.screen.check_action("op_stop", ()) is False
        notice = app.standing_notice()
        assert "a recording cannot be changed" in notice and "--allow-actions" not in notice
        app.jump_to("sb-web")
        await settle(pilot)
        assert isinstance(app.screen, SandboxScreen)
        assert app.screen.check_action("metrics", ()) is False
        await pilot.press("x")  # not offered: pressing it changes nothing and asks nothing
        await settle(pilot)
        assert isinstance(app.screen, SandboxScreen)
        assert "--allow-actions" not in app.screen.query_one(StatusLine).message


async def test_describe_of_a_resource_that_is_gone_says_so_and_shows_no_document() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_describe(("container", "sb-web", "gone-one"))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, DescribeScreen)
        assert screen.document is not None and screen.document.pretty is None
        assert '"error"' not in screen.shown_text
        screen.show_sandboxes(app.sandboxes)
        line = screen.query_one(StatusLine)
        assert line.message == "container sb-web/gone-one is gone", line.message
