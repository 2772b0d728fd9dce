"""The console on a Kata host: the host source over a state root built for the test (Pilot),
and SVG snapshots of the recorded demo node (`--source snapshot:FILE`, frozen clock)."""

from __future__ import annotations

import datetime as _dt
import json
import shutil
from pathlib import Path

from textual.screen import ModalScreen

from kata_console.app import KataConsole
from kata_console.engine.clock import FrozenClock
from kata_console.sources.host_source import EMPTY_NOTICE, HostSource
from tests.conftest import REPO
from tests.tui_support import SIZE
from widgets.status_line import StatusLine

NODE = REPO / "fixtures" / "hosts" / "demo-node.json"


def _recorded_at() -> _dt.datetime:
    """A minute after the recorded shim started: ages read the same on every run."""
    data = json.loads(NODE.read_text())
    start = min(p["create_time"] for p in data["inspect"]["processes"])
    return _dt.datetime.fromtimestamp(start, _dt.UTC) + _dt.timedelta(seconds=65)


def host_app(source: HostSource, **options: object) -> KataConsole:
    return KataConsole(
        source,
        theme="textual-dark",
        cursor_blink=False,
        animations=False,
        empty_notice=EMPTY_NOTICE,
        **options,  # type: ignore[arg-type]
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
        status = app.screen.query_one(StatusLine)
        assert status.notice.startswith("read-only: ") and status.level != "error"
        assert app.screen.check_action("op_start", ()) is False  # a host drives no runtime
        assert not isinstance(app.screen, ModalScreen)  # no confirmation was asked
        again = app.sandbox("go-erofs-1")
        assert again is not None and again.state == "running"


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


async def test_a_slow_refresh_is_left_to_finish_not_restarted() -> None:
    """A load that takes longer than the refresh interval (a shim that answers slowly)
    is not cancelled and restarted by every tick: it would never finish and the screen
    would never change."""
    import asyncio

    class SlowHost(HostSource):
        def __init__(self) -> None:
            super().__init__(snapshot=str(NODE), clock=FrozenClock(_recorded_at()))
            self.calls = 0
            self.gate = asyncio.Event()

        async def load(self):  # type: ignore[no-untyped-def]
            self.calls += 1
            if self.calls == 2:  # the first periodic refresh hangs until released
                await self.gate.wait()
            return await super().load()

    source = SlowHost()
    app = KataConsole(source, refresh_interval=0.05, animations=False, cursor_blink=False)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(40):
            await pilot.pause(0.02)
        assert source.calls == 2  # ~16 ticks passed while the second load waited
        source.gate.set()
        await pilot.pause(0.3)
        assert source.calls > 2  # finished, and the ticks resume
        assert sorted(s.id for s in app.sandboxes) == sorted(
            s.id for s in await HostSource(snapshot=str(NODE)).load()
        )


def test_a_start_time_that_is_no_date_shows_no_age() -> None:
    """A hand-edited recording may carry any finite number as a start time: the row and
    the sandbox list show an unknown age instead of failing the whole refresh."""
    from kata_console.engine.clock import from_unix
    from kata_console.engine.inspect.facts import ProcessFacts
    from kata_console.sources.model import format_age
    from widgets.process_table import process_row

    now = _dt.datetime(2026, 12, 1, tzinfo=_dt.UTC)
    assert from_unix(1.7e9) == _dt.datetime.fromtimestamp(1.7e9, _dt.UTC)
    for odd in (1e300, -1e300, 2.0**63):
        assert from_unix(odd) is None
        row = process_row(
            ProcessFacts(pid=7, name="qemu", role="hypervisor", sandbox_id=None, create_time=odd),
            now,
        )
        assert row[-1] == format_age(None, now)
    ok = process_row(
        ProcessFacts(
            pid=7, name="qemu", role="hypervisor", sandbox_id=None, create_time=now.timestamp() - 65
        ),
        now,
    )
    assert ok[-1] != format_age(None, now)
