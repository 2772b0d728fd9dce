"""What stays readable when the terminal changes or the room is short: a following log
keeps its last line in view across resizes, the status line shows a long message whole,
the chain tree keeps each hop's verdict on screen, the facts panel can be scrolled."""

from __future__ import annotations

import datetime as _dt

import pytest

from kata_console.sources.model import LogLine
from tests.tui_support import make_app
from widgets.log_pane import LogPane

T0 = _dt.datetime(2026, 3, 2, 10, 0, tzinfo=_dt.UTC)


def _lines(n: int, sandbox: str) -> list[LogLine]:
    return [
        LogLine(T0, "stdout", "info", f"line {i}", {"sandbox": sandbox, "container": "batch"})
        for i in range(n)
    ]


@pytest.mark.parametrize(("before", "after"), [((200, 50), (80, 24)), ((80, 24), (120, 40))])
async def test_a_following_log_keeps_its_last_line_across_a_resize(
    before: tuple[int, int], after: tuple[int, int]
) -> None:
    app = make_app()
    async with app.run_test(size=before) as pilot:
        app.jump_to("sb-batch")
        await pilot.pause()
        pane = app.screen.query_one(LogPane)
        pane.push(_lines(40, "sb-batch"))
        pane.flush()
        await pilot.pause()
        view = pane.view
        assert view.follow and view.scroll_y == view.max_scroll_y > 0
        await pilot.resize_terminal(*after)
        await pilot.pause()
        await pilot.pause()
        assert view.follow
        assert view.scroll_y == view.max_scroll_y, (view.scroll_y, view.max_scroll_y)
        last = view.buffer.row_count - 1
        assert view.scroll_y <= last < view.scroll_y + view.scrollable_content_region.height
