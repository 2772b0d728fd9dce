"""What stays readable when the terminal changes or the room is short: a following log
keeps its last line in view across resizes, the status line shows a long message whole,
the chain tree keeps each hop's verdict on screen, the facts panel can be scrolled."""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path

import pytest
from rich.text import Text
from textual.pilot import Pilot

from kata_console.app import KataConsole
from kata_console.engine.clock import FrozenClock
from kata_console.engine.inspect.report import NOT_ON_HOST
from kata_console.sources.model import LogLine
from tests.test_tui_host import _recorded_at
from tests.test_tui_sizes import fit_problems, node, screen_text
from tests.tui_support import make_app, read_only_app
from widgets.chain_tree import ChainTree
from widgets.facts_panel import FactsPanel
from widgets.log_pane import LogPane
from widgets.status_line import StatusLine

T0 = _dt.datetime(2026, 3, 2, 10, 0, tzinfo=_dt.UTC)


def _lines(n: int, sandbox: str) -> list[LogLine]:
    return [
        LogLine(T0, "stdout", "info", f"line {i}", {"sandbox": sandbox, "container": "batch"})
        for i in range(n)
    ]


async def test_a_following_log_keeps_its_last_line_across_a_resize() -> None:
    """200x50 to 80x24: the view has fewer rows, so more to scroll; it stayed where the
    old bottom was (ten lines above the newest) while still saying `● follow`."""
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        app.jump_to("sb-batch")
        await pilot.pause()
        pane = app.screen.query_one(LogPane)
        pane.push(_lines(40, "sb-batch"))
        pane.flush()
        await pilot.pause()
        view = pane.view
        assert view.follow and view.scroll_y == view.max_scroll_y > 0
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.pause()
        assert view.follow
        assert view.scroll_y == view.max_scroll_y, (view.scroll_y, view.max_scroll_y)
        last = view.buffer.row_count - 1
        assert view.scroll_y <= last < view.scroll_y + view.scrollable_content_region.height


def _rows_of(app: object, widget: object) -> str:
    """The text a widget shows on screen, its rows joined by spaces."""
    region = widget.region  # type: ignore[attr-defined]
    rows = screen_text(app).splitlines()[region.y : region.bottom]  # type: ignore[arg-type]
    return " ".join(row[region.x : region.right].strip() for row in rows)


def _squeezed(text: str) -> str:
    return "".join(text.split())


async def _shown_whole(app: KataConsole, pilot: Pilot[object]) -> None:
    await pilot.pause()
    line = app.screen.query_one(StatusLine)
    assert len(line.message) > 80, line.message
    prefix = "error: " if line.level == "error" else ""
    # a word longer than the line folds onto the next row: compare without the breaks
    assert _squeezed(prefix + line.message) in _squeezed(_rows_of(app, line)), screen_text(app)
    assert not fit_problems(app.screen)


async def test_a_refusal_is_shown_whole_at_80_columns() -> None:
    """What a refusal says after the first 80 columns (why, what to do) stays readable."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.jump_to("sb-legacy")
        await pilot.pause()
        await pilot.press("s")
        await _shown_whole(app, pilot)


async def test_an_export_and_the_overwrite_question_show_the_whole_path(tmp_path: Path) -> None:
    folder = tmp_path / "exports-of-the-rootfs-chains-for-the-review"
    folder.mkdir()
    target = folder / "chain-of-the-web-container.json"
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.jump_to("sb-web/web")
        await pilot.pause()
        for _ in range(2):  # written, then the same path again: asks before overwriting
            await pilot.press("ctrl+e")
            app.screen.query_one("#export-prompt").value = str(target)  # type: ignore[attr-defined]
            await pilot.press("enter")
            await pilot.pause()
            assert str(target) in app.screen.query_one(StatusLine).message
            await _shown_whole(app, pilot)


async def test_the_read_only_notice_is_shown_whole_at_80_columns() -> None:
    app = read_only_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        line = app.screen.query_one(StatusLine)
        assert len(line.notice) > 80, line.notice
        assert _squeezed(line.notice) in _squeezed(_rows_of(app, line)), screen_text(app)


BADGE = re.compile(r"\[[a-z ]+\]")


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("target", ["sb-web/web", "chains"])
async def test_every_hop_of_the_chain_tree_shows_its_verdict(target: str, width: int) -> None:
    """A hop's `[ok]` / `[deleted]` / `[refused]` is the point of the tree: each line on
    screen that has one shows it (paths are longer than the terminal is wide)."""
    app = make_app()
    async with app.run_test(size=(width, 40)) as pilot:
        app.jump_to(target)
        await pilot.pause()
        tree = app.screen.query_one(ChainTree)
        await pilot.pause()
        region = tree.scrollable_content_region
        rows = screen_text(app).splitlines()
        seen = 0
        for y in range(region.height):
            node = tree.get_node_at_line(round(tree.scroll_y) + y)
            if node is None:
                break
            label = node.label.plain if isinstance(node.label, Text) else str(node.label)
            badge = BADGE.search(label)
            if badge is None:
                continue
            seen += 1
            row = rows[region.y + y][region.x : region.right]
            assert badge.group(0) in row, f"{label!r} shows only {row!r}"
        assert seen >= 3


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_a_host_container_without_a_chain_says_why(size: tuple[int, int]) -> None:
    """On a Kata host an EROFS rootfs is mounted in the guest: the view gives the CLI's
    explanation (`chain_note`) instead of a bare "no rootfs chain" over an empty pane."""
    app = node(FrozenClock(_recorded_at()))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        app.jump_to("sb-batch/batch")
        await pilot.pause()
        await pilot.pause()
        text = screen_text(app)
        assert "kata: no rootfs chain" not in text
        assert _squeezed(NOT_ON_HOST) in _squeezed(text), text
        tree = app.screen.query_one(ChainTree)
        assert "the guest mounts this rootfs" in _rows_of(app, tree), text


async def test_facts_longer_than_their_panel_can_be_focused_and_scrolled() -> None:
    """Beside a short containers table the facts get fewer rows than they have (the demo
    at 120x40 hid eight of them): Tab reaches the panel and End brings the last one."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.jump_to("sb-legacy")
        await pilot.pause()
        sb = app.sandbox("sb-legacy")
        assert sb is not None
        sb.facts.extend((f"extra fact {i}", f"value {i}") for i in range(20))
        app.screen.show_sandboxes(app.sandboxes)  # type: ignore[attr-defined]
        await pilot.pause()
        panel = app.screen.query_one(FactsPanel)
        assert "extra fact 19" not in _rows_of(app, panel)  # more facts than rows
        await pilot.press("tab")
        assert app.focused is panel
        await pilot.press("end")
        await pilot.pause()
        assert "extra fact 19" in _rows_of(app, panel), screen_text(app)
        assert not fit_problems(app.screen)
