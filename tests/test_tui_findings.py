"""doctor's findings in the console: the badge in the breadcrumb, the findings view (`F`,
`:findings`), Enter to the resource a finding concerns, and a sandbox's findings in its
facts. Run on `doctor-node.json`, a recording of a node broken on purpose (made by
scripts/record-doctor-node from real loops, mounts, processes and namespaces), and on the
healthy demo node, which must give no findings."""

from __future__ import annotations

import datetime as _dt
import json

import pytest

from kata_console.app import KataConsole
from kata_console.engine.clock import FrozenClock
from kata_console.screens.chains import ChainsScreen
from kata_console.screens.container import ContainerScreen
from kata_console.screens.findings import FindingsScreen
from kata_console.screens.sandbox import SandboxScreen
from kata_console.sources.host_source import HostSource
from tests.conftest import REPO
from tests.test_tui_host import host_app
from tests.tui_support import make_app
from widgets.breadcrumb import Breadcrumb
from widgets.facts_panel import FactsPanel
from widgets.finding_detail import FindingDetail
from widgets.findings_table import FindingsTable

BROKEN = REPO / "fixtures" / "hosts" / "doctor-node.json"
HEALTHY = REPO / "fixtures" / "hosts" / "demo-node.json"


def _app(path) -> KataConsole:  # type: ignore[no-untyped-def]
    data = json.loads(path.read_text())
    start = min(p["create_time"] for p in data["inspect"]["processes"])
    at = _dt.datetime.fromtimestamp(start, _dt.UTC) + _dt.timedelta(seconds=65)
    return host_app(HostSource(snapshot=str(path), clock=FrozenClock(at)))


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def _go_to_finding(pilot, rule: str) -> None:  # type: ignore[no-untyped-def]
    """Enter on the first finding of `rule` in the findings view."""
    table = pilot.app.screen.query_one(FindingsTable)
    table.move_cursor(row=next(i for i, f in enumerate(table.findings) if f.id == rule))
    await pilot.press("enter")
    await _settle(pilot)


def _crumb(app: KataConsole) -> str:
    return str(app.screen.query_one(Breadcrumb).render())


async def test_the_badge_counts_findings_by_severity_and_F_lists_them() -> None:
    app = _app(BROKEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        assert " 5 err  4 warn " in _crumb(app)
        await pilot.press("F")
        await _settle(pilot)
        screen = app.screen
        assert isinstance(screen, FindingsScreen)
        table = screen.query_one(FindingsTable)
        assert table.border_title == "findings (5 error, 4 warning)"
        assert [f.severity for f in table.findings] == ["error"] * 5 + ["warning"] * 4
        first = table.findings[0]
        detail = screen.query_one(FindingDetail).text
        assert first.id in detail and all(line in detail for line in first.evidence[:1])
        await pilot.press("escape")
        assert not isinstance(app.screen, FindingsScreen)
        app.jump_to("findings")
        await _settle(pilot)
        assert isinstance(app.screen, FindingsScreen)


async def test_enter_goes_to_the_sandbox_or_to_the_chains_for_a_host_finding() -> None:
    app = _app(BROKEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        await pilot.press("F")
        await _settle(pilot)
        await _go_to_finding(pilot, "shim-socket-unreachable")
        assert isinstance(app.screen, SandboxScreen) and app.screen.sandbox_id == "sb-batch"
        facts = " ".join(t.plain for t in app.screen.query_one(FactsPanel).lines(200))
        assert "(shim-socket-unreachable)" in facts and "(tap-without-redirect)" in facts
        await pilot.press("escape")  # back to the findings, where the user was
        await _settle(pilot)
        assert isinstance(app.screen, FindingsScreen)
        await _go_to_finding(pilot, "orphan-loop")
        assert isinstance(app.screen, ChainsScreen)


async def test_a_torn_persist_json_is_said_once_in_the_facts() -> None:
    app = _app(BROKEN)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        app.jump_to("sb-torn")
        await _settle(pilot)
        sb = app.sandbox("sb-torn")
        assert sb is not None and len(sb.errors) == 1
        why = sb.errors[0].partition("persist.json: ")[2]
        facts = " ".join(t.plain for t in app.screen.query_one(FactsPanel).lines(400))
        # the file's error, naming the finding it is, and not the finding again
        assert facts.count(why) == 1
        assert f"error {sb.errors[0]} (persist-unreadable)" in facts


async def test_a_healthy_node_shows_no_findings_and_a_source_with_no_host_no_badge() -> None:
    app = _app(HEALTHY)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        # a recording made without doctor's host facts: the rules that need them did not
        # run, so the count is of what could be checked
        assert " 0 findings, partial " in _crumb(app)
        await pilot.press("F")
        await _settle(pilot)
        assert app.screen.query_one(FindingsTable).findings == []
        detail = app.screen.query_one(FindingDetail).text
        assert "no findings" in detail and "not checked: device-file-gone" in detail
    fixture = make_app()  # the fixture source inspects no host
    async with fixture.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        assert "finding" not in _crumb(fixture) and " err " not in _crumb(fixture)
        await pilot.press("F")
        await _settle(pilot)
        assert "inspects no host" in fixture.screen.query_one(FindingDetail).text


def _findings_shot(snap_compare, size: tuple[int, int]) -> bool:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press("F")
        await _settle(pilot)

    return bool(snap_compare(_app(BROKEN), terminal_size=size, run_before=run_before))


def test_findings_view_at_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert _findings_shot(snap_compare, (80, 24))


@pytest.mark.parametrize("size", [(120, 40), (200, 50)], ids=["120x40", "200x50"])
def test_findings_view_at_size(snap_compare, size: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert _findings_shot(snap_compare, size)


async def test_at_80x24_the_finding_pane_scrolls_to_its_last_evidence_line() -> None:
    app = _app(BROKEN)
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        await pilot.press("F")
        await _settle(pilot)
        detail = app.screen.query_one(FindingDetail)
        assert detail.max_scroll_y > 0  # the first finding's evidence is longer than the pane
        await pilot.press("tab")
        assert app.screen.focused is detail
        await pilot.press("end")
        await pilot.pause()
        assert detail.scroll_y == detail.max_scroll_y
        # a refresh of the same findings keeps where the user scrolled to
        app.screen.show_sandboxes(app.sandboxes)  # type: ignore[attr-defined]
        await pilot.pause(0.2)
        assert detail.scroll_y == detail.max_scroll_y > 0


async def test_esc_after_a_finding_returns_to_the_findings_when_its_view_was_open() -> None:
    """The finding's sandbox is already further down the stack (the user came from it):
    Esc still goes back to the findings, then to where the user was before them."""
    app = _app(BROKEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        app.open_sandbox("sb-batch")
        await _settle(pilot)
        app.open_container("sb-batch", "app")
        await _settle(pilot)
        await pilot.press("F")
        await _settle(pilot)
        await _go_to_finding(pilot, "shim-socket-unreachable")
        assert isinstance(app.screen, SandboxScreen) and app.screen.sandbox_id == "sb-batch"
        await pilot.press("escape")
        await _settle(pilot)
        assert isinstance(app.screen, FindingsScreen)
        await pilot.press("escape")
        await _settle(pilot)
        assert isinstance(app.screen, ContainerScreen) and app.screen.container_id == "app"
        # walking findings -> sandbox -> findings does not grow the stack
        depth = len(app.screen_stack)
        for _ in range(3):
            await pilot.press("F")
            await _settle(pilot)
            app.jump_to("sb-batch")
            await _settle(pilot)
        assert len(app.screen_stack) <= depth + 2
