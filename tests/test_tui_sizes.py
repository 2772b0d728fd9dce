"""The console at 80x24, 120x40 and 200x50: every view fits, nothing is cut.

Pilot checks assert the geometry (no container of a view scrolls vertically, every shown
widget lies inside the screen and inside its parent, the facts keep values whole, the
modals fit the width); SVG snapshots at 80x24 and 200x50 show the compact and the wide
layouts next to the 120x40 ones of tests/test_tui_snapshots.py.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from rich.console import Console
from rich.text import Text
from textual.app import App
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.pilot import Pilot
from textual.screen import Screen
from textual.scroll_view import ScrollView
from textual.widget import Widget
from textual.widgets import DataTable, Footer
from textual.widgets._footer import FooterKey
from textual.widgets.data_table import ColumnKey

from kata_console.app import KataConsole
from kata_console.engine.clock import FrozenClock
from kata_console.sources.host_source import HostSource
from kata_console.sources.plan_source import PlanSource
from tests.test_tui_findings import BROKEN
from tests.test_tui_findings import _app as findings_app
from tests.test_tui_host import NODE, _recorded_at, host_app
from tests.test_tui_stepthrough import FAILED_START, PLANS, STEPTHROUGH, plan_app
from tests.test_tui_stepthrough import settle as settle_plan
from tests.tui_support import make_app
from widgets.device_table import MIN_PATH, DeviceTable
from widgets.facts_panel import FactsPanel, break_lines
from widgets.link_table import LinkTable
from widgets.process_table import ProcessTable
from widgets.prompt_bar import PromptBar


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


DOCTOR_NODE = NODE.parent / "doctor-node.json"


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
        for size in ((120, 40), (80, 24)):
            await pilot.resize_terminal(*size)
            await settle(pilot)
            line = line_with(screen_text(app), dev.id)
            shown = table.get_cell(dev.id, "host_path").plain
            # the path's tail, as long as the room left lets it be (no width wasted)
            assert shown.startswith("…") and dev.host_path.endswith(shown[1:]), size
            assert f" {shown} " in line and dev.host_path not in line, size
            assert len(shown) >= MIN_PATH - 3, size  # the cut may move to a `/` 3 cells on
            assert table.max_scroll_x == 0, size  # every column in sight
            room = table.scrollable_content_region.width
            assert room - 3 <= table.virtual_size.width <= room, size
        await pilot.resize_terminal(200, 50)
        await settle(pilot)
        assert dev.host_path in line_with(screen_text(app), dev.id)


# ---------------------------------------------------------------------- fitting


def fit_problems(screen: Screen[object]) -> list[str]:
    """Why this view does not fit its terminal (empty: it fits).

    - no container scrolls vertically (the screen, its panels) and no leaf widget (the
      facts, a strip) needs more rows than it has: only the content of a table, tree or
      log view may scroll, never the page;
    - every shown widget lies inside the screen and inside its parent, at least one row
      high, unless it is inside a pane folded to its title line;
    - a shown table has room for its header and at least one row.
    """
    problems: list[str] = []
    bounds = screen.region
    if screen.max_scroll_y > 0:
        problems.append(f"the view scrolls by {screen.max_scroll_y} rows")
    for widget in screen.query("*"):
        if not widget.display or any(not node.display for node in widget.ancestors):
            continue
        if any(node.has_class("-folded") for node in widget.ancestors):
            continue
        if any(isinstance(node, ScrollableContainer) for node in widget.ancestors):
            continue  # scrolled content: its scroll area is checked instead
        name = f"{type(widget).__name__}#{widget.id}"
        region = widget.region
        if widget.has_class("-folded"):
            if region.height != 1:
                problems.append(f"{name}: folded to {region.height} rows")
            continue
        if isinstance(widget, ScrollView | ScrollableContainer):
            pass  # a table, tree, log view or a modal's list: its content may scroll
        elif widget.is_container:
            if widget.max_scroll_y > 0:
                problems.append(f"{name}: scrolls by {widget.max_scroll_y} rows")
        elif widget.size.height:
            # a leaf's virtual size is its outer size: ask how many rows its content needs
            size = widget.size
            needed = widget.get_content_height(size, screen.size, size.width)
            if needed > size.height:
                problems.append(f"{name}: needs {needed} rows, has {size.height}")
        if isinstance(widget, PromptBar):
            continue  # docked over the footer while open, hidden otherwise
        if region.height < 1 or region.width < 1:
            problems.append(f"{name}: no room ({region.width}x{region.height})")
        elif bounds.intersection(region) != region:
            problems.append(f"{name}: {region} is outside the screen {bounds}")
        parent = widget.parent
        if isinstance(parent, Widget) and not isinstance(parent, Screen):
            inside = parent.region.intersection(region)
            if inside != region and not isinstance(parent, Footer):
                problems.append(f"{name}: {region} is cut by its parent {parent.region}")
        if isinstance(widget, DataTable) and widget.row_count:
            rows = widget.scrollable_content_region.height - widget.header_height
            if rows < 1:
                problems.append(f"{name}: no room for a row ({region.height} rows high)")
            if widget.max_scroll_x > 0:
                problems.append(f"{name}: {widget.max_scroll_x} columns are out of sight")
    return problems


#: the sizes every view is checked at, smallest first (one app is resized through them)
SIZES = ((80, 24), (100, 30), (120, 40), (200, 50), (80, 40), (200, 24))

#: view -> (app, where `:` goes, keys pressed there)
VIEWS: dict[str, tuple[Callable[[], App[None]], str | None, tuple[str, ...]]] = {
    "sandboxes": (make_app, "sandboxes", ()),
    "sandbox": (make_app, "sb-web", ()),
    "sandbox-logs-focused": (make_app, "sb-web", ("tab", "tab")),
    "container": (make_app, "sb-web/web", ()),
    "container-refused-layer": (make_app, "sb-batch/batch", ()),
    "container-deleted-backing-file": (make_app, "sb-legacy/legacy", ()),
    "chains": (make_app, "chains", ()),
    "logs": (make_app, "logs", ()),
    "host-sandboxes": (lambda: node(FrozenClock(_recorded_at())), None, ()),
    "host-sandbox": (lambda: node(FrozenClock(_recorded_at())), "sb-web", ()),
    "host-sandbox-processes": (lambda: node(FrozenClock(_recorded_at())), "sb-web", ("p",)),
    "host-sandbox-network": (
        lambda: node(FrozenClock(_recorded_at())),
        "sb-web",
        ("p", "tab"),
    ),
    "host-stopped-sandbox": (lambda: node(FrozenClock(_recorded_at())), "sb-legacy", ()),
    "stepthrough": (lambda: plan_app(STEPTHROUGH)[0], None, ()),
    "stepthrough-failed": (lambda: plan_app(FAILED_START)[0], None, ("c",)),
    # long ids and 30 failed ops of 42
    "stepthrough-preconditions": (
        lambda: plan_app(PLANS / "preconditions.json")[0],
        None,
        ("c",),
    ),
    "findings": (
        lambda: findings_app(DOCTOR_NODE),
        "findings",
        (),
    ),
    "help": (make_app, "sb-web/web", ("question_mark",)),
    "confirm": (make_app, "sb-web/web", ("x",)),
    "confirm-sandbox": (make_app, "sandboxes", ("x",)),
}


async def settle_view(pilot: Pilot[None]) -> None:
    """Settled, and for a plan: its engine at rest too."""
    if isinstance(pilot.app.source, PlanSource):  # type: ignore[attr-defined]
        await settle_plan(pilot)
    else:
        await settle(pilot)


@pytest.mark.parametrize("view", list(VIEWS))
async def test_every_view_fits_every_size(view: str) -> None:
    factory, target, keys = VIEWS[view]
    app = factory()
    async with app.run_test(size=SIZES[0]) as pilot:
        await settle_view(pilot)
        if target:
            app.jump_to(target)  # type: ignore[attr-defined]
            await settle_view(pilot)
        await pilot.press(*keys)
        await settle_view(pilot)
        for size in SIZES:
            await pilot.resize_terminal(*size)
            await settle_view(pilot)
            problems = fit_problems(app.screen)
            assert not problems, f"{view} at {size[0]}x{size[1]}:\n" + "\n".join(
                [*problems, screen_text(app)]
            )


# ---------------------------------------------------------------------- facts


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40), (200, 50)])
async def test_facts_are_never_folded_into_slices(size: tuple[int, int]) -> None:
    """Every fact's words stay whole on screen; a path breaks only after a separator (a
    fixed grid folded `running` one letter a line at 80 columns)."""
    app = node(FrozenClock(_recorded_at()))
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.jump_to("sb-web")
        await settle(pilot)
        # what the screen shows as the facts panel is scrolled from its top to its end
        panel = app.screen.query_one(FactsPanel)
        text = ""
        for y in range(0, int(panel.max_scroll_y) + 1):
            panel.scroll_to(y=y, animate=False)
            await pilot.pause()
            text += screen_text(app)
        sb = app.sandbox("sb-web")
        assert sb is not None and sb.facts
        for key, value in [("state", sb.state), ("hypervisor", sb.hypervisor), *sb.facts]:
            assert key in text, key
            for word in re.split(r"[\s/-]+", value):
                assert not word or word in text, f"{word!r} of {key} cut:\n{text}"


async def test_facts_move_an_identifier_whole_to_the_next_line() -> None:
    """A tap's name that fits a line is never left as `tap0_` / `kata`; a netns's uuid
    wider than the column is the only thing broken inside, after one of its `-`."""
    app = findings_app(BROKEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.jump_to("sb-batch")
        await settle(pilot)
        panel = app.screen.query_one(FactsPanel)
        width = panel.query_one("_FactsBody").size.width
        lines = [t.plain.rstrip() for t in panel.lines(width)]
        said = " ".join(lines)
        assert said.count("tap0_kata") == 2, lines  # whole, both times
        for line in lines:
            assert not line.endswith(("tap0_", "tap0")), lines
        netns = next(i for i, line in enumerate(lines) if "/var/run/netns/" in line)
        uuid = "cni-8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c2d"
        column = width - lines[netns].index("/var/run/netns/")  # the values' width
        if len(uuid) <= column:  # fits a line of its own: it moves whole
            assert uuid in lines[netns] or uuid in lines[netns + 1], lines
        else:  # wider than the column: broken after a `-`
            assert lines[netns].endswith("-"), lines


def test_an_identifier_is_broken_only_when_wider_than_the_line() -> None:
    text = Text("no redirect into tap0_kata: traffic")
    assert [t.plain for t in break_lines(text, 22)] == ["no redirect into", "tap0_kata: traffic"]
    assert [t.plain for t in break_lines(Text("tap0_kata_long_name"), 10)] == [
        "tap0_kata_",
        "long_name",
    ]
    path = Text("/var/run/netns/cni-8a7b6c5d-4e3f")
    assert [t.plain for t in break_lines(path, 20)] == ["/var/run/netns/", "cni-8a7b6c5d-4e3f"]


# ---------------------------------------------------------------------- footer


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("target", ["sandboxes", "sb-web", "sb-web/web", "chains", "logs"])
async def test_footer_keeps_the_views_keys_whole(target: str, width: int) -> None:
    """Every key the footer shows is whole on screen, and the view's own keys are there
    before the shared ones (back, jump, quit) are."""
    app = make_app()
    async with app.run_test(size=(width, 24)) as pilot:
        await settle(pilot)
        app.jump_to(target)
        await settle(pilot)
        await pilot.press("tab")  # another pane's keys: the footer is laid out again
        await settle(pilot)
        screen = app.screen
        footer = screen.query_one(Footer)
        shown = [key for key in footer.query(FooterKey) if key.display]
        assert shown
        for key in shown:
            assert screen.region.intersection(key.region) == key.region, key.description
            for other in shown:  # the palette key is docked: nothing may run under it
                overlap = other is not key and key.region.overlaps(other.region)
                assert not overlap, f"{key.description!r} under {other.description!r}"
        own = [
            b.description
            for b in vars(type(screen)).get("BINDINGS", [])
            if isinstance(b, Binding) and b.show and screen.check_action(b.action, ())
        ]
        footer_line = screen_text(app).splitlines()[-1]
        for description in own:
            assert description in footer_line, f"{description!r}: {footer_line}"


# ---------------------------------------------------------------------- folding


async def test_a_short_sandbox_view_opens_the_pane_that_gets_focus() -> None:
    """Below 40 rows one of devices / processes / network is open, the others keep their
    title line; `p` and Tab open another; a tall terminal folds none."""
    app = node(FrozenClock(_recorded_at()))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        app.jump_to("sb-web")
        await settle(pilot)
        screen = app.screen
        devices, procs = screen.query_one(DeviceTable), screen.query_one(ProcessTable)
        links = screen.query_one(LinkTable)
        assert devices.region.height > 3 and procs.region.height == links.region.height == 1
        assert "processes" in screen_text(app) and "network" in screen_text(app)
        await pilot.press("p")
        await settle(pilot)
        assert procs.has_focus and procs.region.height > 3
        assert devices.region.height == links.region.height == 1
        line = line_with(screen_text(app), "containerd-shim-kata-v2")
        assert "4998" in line  # its rows are on screen
        await pilot.press("tab")
        await settle(pilot)
        assert links.region.height > 3 and procs.region.height == 1
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert not screen.query(".-folded")
        assert min(devices.region.height, procs.region.height, links.region.height) > 3
