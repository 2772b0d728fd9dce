"""The console at 80x24, 120x40 and 200x50: every view fits, nothing is cut.

Pilot checks assert the geometry (no container of a view scrolls vertically, every shown
widget lies inside the screen and inside its parent, the facts keep values whole, the
modals fit the width); SVG snapshots at 80x24 and 200x50 show the compact and the wide
layouts next to the 120x40 ones of tests/test_tui_snapshots.py.
"""

from __future__ import annotations

import io
import re

from rich.console import Console
from textual.app import App
from textual.pilot import Pilot
from textual.widgets.data_table import ColumnKey

from kata_console.app import KataConsole
from kata_console.engine.clock import FrozenClock
from kata_console.sources.host_source import HostSource
from tests.test_tui_host import NODE, _recorded_at, host_app
from tests.tui_support import make_app
from widgets.device_table import DeviceTable
from widgets.process_table import ProcessTable


def screen_text(app: App[object]) -> str:
    """What the terminal shows, as plain text (one line per row)."""
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )
    return console.export_text()


def line_with(text: str, word: str) -> str:
    """The first line on screen holding `word` as a whole word."""
    pattern = re.compile(rf"(?<![\w-]){re.escape(word)}(?![\w-])")
    lines = [line for line in text.splitlines() if pattern.search(line)]
    assert lines, f"{word!r} is not on screen:\n{text}"
    return lines[0]


async def settle(pilot: Pilot[None]) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def node(clock: FrozenClock) -> KataConsole:
    return host_app(HostSource(snapshot=str(NODE), clock=clock))


# ---------------------------------------------------------------------- widths


async def test_a_value_that_grows_in_place_is_never_cut() -> None:
    """Ages tick from `1m` to `1h50m` to `1d3h` in the same rows: every table shows the
    whole value (DataTable sizes a column by the cells it was first given)."""
    clock = FrozenClock(_recorded_at())
    app = node(clock)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "  1m" in line_with(screen_text(app), "sb-web")
        for age, seconds in (("1h50m", 109 * 60), ("1d3h", 25 * 3600 + 10 * 60)):
            clock.advance(seconds)
            app.reload()
            await settle(pilot)
            assert f" {age}" in line_with(screen_text(app), "sb-web"), age
        app.jump_to("sb-web")
        await settle(pilot)
        text = screen_text(app)
        assert " 1d3h" in line_with(text, "containerd-shim-kata-v2")  # the processes table
        assert " 1d3h" in line_with(text, "age")  # the facts
        clock.advance(-(109 * 60 + 25 * 3600 + 10 * 60))  # back to "1m"
        app.reload()
        await settle(pilot)
        assert line_with(screen_text(app), "containerd-shim-kata-v2").split()[-2] == "1m"
        ages = app.screen.query_one(ProcessTable).columns[ColumnKey("age")]
        assert ages.content_width == len("age")  # the column narrows again too


async def test_device_host_paths_use_the_width_there_is() -> None:
    """Whole at 200 columns, their tail at 120, whole again after growing back; the other
    columns are never pushed out of sight."""
    app = make_app()
    async with app.run_test(size=(200, 50)) as pilot:
        await settle(pilot)
        app.jump_to("sb-web")
        await settle(pilot)
        sandbox = app.sandbox("sb-web")
        assert sandbox is not None
        dev = sandbox.devices[0]
        assert len(dev.host_path) > 44
        table = app.screen.query_one(DeviceTable)
        assert dev.host_path in line_with(screen_text(app), dev.id)
        for size, shown in (
            ((120, 40), "…/snapshots/2/layer.erofs"),
            ((80, 24), "…/2/layer.erofs"),
        ):
            await pilot.resize_terminal(*size)
            await settle(pilot)
            line = line_with(screen_text(app), dev.id)
            assert f" {shown} " in line and dev.host_path not in line, size
            assert table.max_scroll_x == 0, size  # every column in sight
        await pilot.resize_terminal(200, 50)
        await settle(pilot)
        assert dev.host_path in line_with(screen_text(app), dev.id)
