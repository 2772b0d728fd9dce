"""The console on a Kata host: the host source over a state root built for the test (Pilot),
and SVG snapshots of the recorded demo node (`--source snapshot:FILE`, frozen clock)."""

from __future__ import annotations

import datetime as _dt
import json
import shutil
from pathlib import Path

from kata_console.app import KataConsole
from kata_console.engine.clock import FrozenClock
from kata_console.sources.host_source import EMPTY_NOTICE, HostSource
from tests.conftest import REPO
from tests.tui_support import SIZE

NODE = REPO / "fixtures" / "hosts" / "demo-node.json"


def _recorded_at() -> _dt.datetime:
    """A minute after the recorded shim started: ages read the same on every run."""
    data = json.loads(NODE.read_text())
    start = min(p["create_time"] for p in data["inspect"]["processes"])
    return _dt.datetime.fromtimestamp(start, _dt.UTC) + _dt.timedelta(seconds=65)


def host_app(source: HostSource) -> KataConsole:
    return KataConsole(
        source,
        theme="textual-dark",
        cursor_blink=False,
        animations=False,
        empty_notice=EMPTY_NOTICE,
    )


def node_app() -> KataConsole:
    return host_app(HostSource(snapshot=str(NODE), clock=FrozenClock(_recorded_at())))


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.pause()


def test_node_sandboxes(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(node_app(), terminal_size=SIZE, run_before=_settle)


def test_node_sandbox_with_processes_and_network(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        pilot.app.jump_to("sb-web")
        await _settle(pilot)

    assert snap_compare(node_app(), terminal_size=SIZE, run_before=run_before)


def test_node_stopped_sandbox_with_its_namespace_gone(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        pilot.app.jump_to("sb-legacy")
        await _settle(pilot)

    assert snap_compare(node_app(), terminal_size=(80, 24), run_before=run_before)


async def test_the_host_source_lists_a_state_root_and_marks_a_torn_file(tmp_path: Path) -> None:
    """A live state root: the Go-written sandbox and a torn one; the torn one still shows,
    with the file and the reason, and its sibling is intact; actions are refused."""
    sbs = tmp_path / "vc" / "sbs"
    shutil.copytree(REPO / "fixtures" / "persist" / "go-sbs" / "go-erofs-1", sbs / "go-erofs-1")
    (sbs / "torn-1").mkdir()
    (sbs / "torn-1" / "persist.json").write_text('{"State": "runn')
    source = HostSource(vc_root=str(tmp_path / "vc"))
    app = host_app(source)
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        assert sorted(s.id for s in app.sandboxes) == ["go-erofs-1", "torn-1"]
        torn = app.sandbox("torn-1")
        assert torn is not None and torn.errors[0].startswith(f"{sbs}/torn-1/persist.json: ")
        good = app.sandbox("go-erofs-1")
        assert good is not None and good.state == "running" and good.errors == []
        assert good.network is not None and good.network.error == (
            "missing: /var/run/netns/cni-6f0b9a1c-27d4-4e8e-9d3f-1c2b3a4d5e6f"
        )
        assert [d.host_side for d in good.devices] == ["not on the host"] * 2
        app.jump_to("go-erofs-1")
        await _settle(pilot)
        links = app.screen.query_one("#links")
        assert links.display and "missing" in str(links.border_title)
        await pilot.press("s")  # start: refused, this source drives no runtime
        await _settle(pilot)
        assert good.state == "running"


async def test_the_metrics_key_asks_the_shim_once_and_shows_its_figures(tmp_path: Path) -> None:
    """`m` on a sandbox: one GET /metrics to its shim (a test double of the shim's socket),
    the figures in the facts; refreshes only ever GET /agent-url."""
    from tests.shimdouble import ShimDouble

    sdir = tmp_path / "vc" / "sbs" / "go-erofs-1"
    shutil.copytree(REPO / "fixtures" / "persist" / "go-sbs" / "go-erofs-1", sdir)
    sdir.chmod(0o700)
    with ShimDouble(str(sdir / "shim-monitor.sock")) as shim:
        app = host_app(HostSource(vc_root=str(tmp_path / "vc")))
        async with app.run_test(size=(120, 40)) as pilot:
            await _settle(pilot)
            app.jump_to("go-erofs-1")
            await _settle(pilot)
            assert ("GET", "/metrics") not in shim.requests
            await pilot.press("m")
            await _settle(pilot)
            await pilot.pause(0.5)
            await _settle(pilot)
            view = app.sandbox("go-erofs-1")
            assert view is not None
            facts = dict(view.facts)
            assert facts["agent_rss"].endswith("MiB") and "hypervisor_threads" in facts
            assert shim.requests.count(("GET", "/metrics")) == 1
            assert {m for m, _ in shim.requests} == {"GET"}
