"""What the console claims about health matches what it knows: the findings are doctor's
rules on what is shown, a host without Kata state says so, a process list says what is
alive now, and an agent's badge rests on fresh evidence."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from kata_console.app import KataConsole
from kata_console.sources.demo_source import DemoSource
from kata_console.sources.host_source import EMPTY_NOTICE, HostSource
from kata_console.sources.model import Operation
from tests.tui_support import make_app
from widgets.breadcrumb import Breadcrumb
from widgets.finding_detail import FindingDetail
from widgets.host_bar import HostBar


async def _until(pilot, check, tries: int = 50) -> None:  # type: ignore[no-untyped-def]
    for _ in range(tries):
        await pilot.pause(0.1)
        if check():
            return


# ---------------------------------------------------------------- 1. findings on what is shown


async def test_demo_findings_are_the_rules_on_the_chains_it_shows(demo: DemoSource) -> None:
    """The refused batch layer and legacy's deleted backing file (both on screen in the
    chains) are findings; the rules the demo cannot give facts to are named, not passed."""
    await demo.load()
    found = {(f.id, f.sandbox, f.container) for f in demo.findings}
    assert ("erofs-rootfs-refused", "sb-batch", "batch") in found
    assert ("layer-backing-file-gone", "sb-legacy", "legacy") in found
    assert "leftover-cgroup: " in demo.findings_gap and "orphan-loop: " in demo.findings_gap


async def test_demo_findings_view_does_not_call_the_node_fine() -> None:
    source = DemoSource()
    app = make_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await asyncio.wait_for(source.ready(), 30)
        await _until(pilot, lambda: len(app.sandboxes) == 3)
        app.reload()
        await pilot.pause(0.3)
        await pilot.press("F")
        await pilot.pause(0.3)
        crumb = str(app.screen.query_one(Breadcrumb).render())
        assert "err" in crumb and "partial" in crumb and "0 findings" not in crumb
        detail = app.screen.query_one(FindingDetail).text
        assert "no findings" not in detail and "sb-batch/batch" in detail
        assert "not checked: leftover-cgroup" in detail


async def test_host_without_kata_state_says_it_looked_and_what_it_found(tmp_path: Path) -> None:
    """No state root: the host line says so (never "not inspected yet" beside a ticking
    "refreshed"), the badge says the rules did not run, and `F` says why."""
    app = KataConsole(
        HostSource(vc_root=str(tmp_path / "vc"), kata_root=str(tmp_path / "kata")),
        theme="textual-dark",
        animations=False,
        cursor_blink=False,
        empty_notice=EMPTY_NOTICE,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)
        bar = str(app.screen.query_one(HostBar).render())
        assert "not inspected" not in bar and "no Kata state: " in bar
        assert "refreshed" in bar
        assert f"{tmp_path}/vc: no such directory" in app.source.header()
        crumb = str(app.screen.query_one(Breadcrumb).render())
        assert "findings: not run" in crumb and "0 findings" not in crumb
        await pilot.press("F")
        await pilot.pause(0.3)
        detail = app.screen.query_one(FindingDetail).text
        assert detail.startswith("doctor's rules did not run: ") and "no findings" not in detail


# ---------------------------------------------------------------- 2. what is alive now


async def test_a_stopped_sandbox_shows_no_live_vm_shim_or_virtiofsd(demo: DemoSource) -> None:
    before = {s.id: s for s in await demo.load()}["sb-web"]
    assert {p.role for p in before.processes} >= {"shim", "vmm"}
    await demo.run_op(Operation("stop_sandbox", "sb-web"))
    web = {s.id: s for s in await demo.load()}["sb-web"]
    roles = {(p.role, p.status) for p in web.processes}
    # the recorded shim is marked recorded; no VMM or virtiofsd is shown as running
    assert ("shim", "recorded") in roles
    assert all(p.status in ("exited", "recorded") for p in web.processes)
    assert not any(p.role == "virtiofsd" for p in web.processes)
    vm_pid = dict(web.facts).get("vm pid")
    assert vm_pid is None or vm_pid.endswith("(exited)")


# ---------------------------------------------------------------- 3. measured agent health


async def test_a_dead_agent_of_a_ready_sandbox_turns_dead_without_an_operation() -> None:
    """sb-batch is ready (Go's monitor watches running sandboxes only): its agent killed,
    the console's own Check finds it gone and the badge turns DEAD, with no key pressed."""
    source = DemoSource(health_interval=0.2)
    app = make_app(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await asyncio.wait_for(source.ready(), 30)
        await _until(pilot, lambda: len(app.sandboxes) == 3)
        assert source.sandboxes["sb-batch"].state == "ready"
        os.kill(source.sandboxes["sb-batch"].agent.spawned.pid, signal.SIGKILL)  # as `kill -9`
        await _until(pilot, lambda: app.sandbox("sb-batch").agent_health == "dead")
        batch = app.sandbox("sb-batch")
        assert batch is not None and batch.agent_health == "dead"
        evidence = dict(batch.facts)["agent health"]
        assert "the console's Check: " in evidence or "process exited" in evidence
        web = app.sandbox("sb-web")  # still answering: ok, with the age of its answer
        assert web is not None and web.agent_health == "ok"
        assert dict(web.facts)["agent health"].endswith("s ago")


async def test_an_old_answer_no_longer_shows_the_agent_ok(tmp_path: Path) -> None:
    """A source that does not probe (a plan): the badge is `ok` while the answer is
    recent, says how old it is, and turns unknown once it is old."""
    import json

    from kata_console.engine.clock import FrozenClock
    from kata_console.sources.plan_source import PlanSource
    from tests.conftest import REPO

    doc = json.loads((REPO / "fixtures" / "plans" / "stepthrough.json").read_text())
    doc["sandbox"]["host"] = str(REPO / "fixtures" / "hosts" / "demo.json")
    doc["ops"] = doc["ops"][:2]  # created and started: its agent answered, then silence
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(doc))
    clock = FrozenClock()
    source = PlanSource(plan, step=False, clock=clock, health_interval=3600)
    try:
        await source.load()
        await source.wait()
        health, evidence = source.agent_health("sb-step")
        assert health == "ok" and evidence.endswith(" answered 0s ago")
        clock.advance(5 * 60)
        view = {v.id: v for v in await source.load()}["sb-step"]
        health, evidence = source.agent_health("sb-step")
        assert health == "ok" and evidence.endswith(" 5m ago")  # within 3 intervals
        source.health_interval = 5.0
        view = {v.id: v for v in await source.load()}["sb-step"]
        assert view.agent_health == "unknown"
        assert dict(view.facts)["agent health"].startswith("no answer for 5m: the last was RPC ")
    finally:
        await source.close()
