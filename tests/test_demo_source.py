"""The embedded demo: the real engine, real agent subprocesses, the recorded demo node.

The agent processes stand in for Kata guests (which cannot exist here); the engine, the
gRPC client, the device manager and Kata's EROFS rules are the real code.
"""

from __future__ import annotations

import asyncio
import os

import pytest

from kata_console.sources.demo_source import DemoSource
from kata_console.sources.model import ConsoleError, LogLine, Operation, StateChanged
from tests.tui_support import SIZE, make_app
from widgets.link_table import LinkTable

SNAP = "/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots"


async def test_three_sandboxes_in_different_states(demo: DemoSource) -> None:
    views = {s.id: s for s in await demo.load()}
    assert {k: v.state for k, v in views.items()} == {
        "sb-web": "running",
        "sb-batch": "ready",
        "sb-legacy": "stopped",
    }
    web = views["sb-web"]
    assert [(c.id, c.state, c.rootfs_kind) for c in web.containers] == [
        ("web", "running", "erofs"),
        ("api", "running", "erofs"),
    ]
    # web (snapshots) and api (mount-manager activation) share both layers: plugged once.
    assert sorted((d.host_path, d.refcount, d.attach_count) for d in web.devices) == [
        (f"{SNAP}/1/layer.erofs", 2, 2),
        (f"{SNAP}/2/layer.erofs", 2, 2),
    ]
    assert all(d.read_only and d.index is not None for d in web.devices)
    assert web.containers[0].chain.kata_verdict is None
    assert web.agent_health == "ok" and any(k == "agent pid" for k, _ in web.facts)


async def test_refused_containers_carry_the_exact_kata_texts(demo: DemoSource) -> None:
    views = {s.id: s for s in await demo.load()}
    (batch,) = views["sb-batch"].containers
    assert batch.state == "" and batch.kata_error == (
        f"unsupported mount source {SNAP}/4/fsmeta.erofs for {SNAP}/4/fs"
    )
    (legacy,) = views["sb-legacy"].containers
    assert legacy.kata_error == (
        f"unsupported mount source {SNAP}/6/layer.erofs (deleted) for {SNAP}/6/fs"
    )
    deleted = legacy.chain.layers[0]
    assert deleted.status == "deleted" and deleted.device.deleted is True
    assert views["sb-batch"].devices == []  # the refused create was rolled back


async def test_stdout_and_engine_steps_reach_subscribers(demo: DemoSource) -> None:
    seen: list[object] = []
    unsubscribe = demo.subscribe(seen.append)
    try:
        for _ in range(40):
            if any(isinstance(e, LogLine) and e.source == "stdout" for e in seen):
                break
            await asyncio.sleep(0.1)
        await demo.run_op(Operation("stop_container", "sb-web", "api"))
    finally:
        unsubscribe()
    stdout = [e for e in seen if isinstance(e, LogLine) and e.source == "stdout"]
    assert stdout and stdout[0].container_id in ("web", "api")
    texts = [e.text for e in seen if isinstance(e, LogLine) and e.source == "engine"]
    assert '> RPC RemoveContainer{container_id="api", timeout=0}' in texts
    assert any(isinstance(e, StateChanged) and e.container_id == "api" for e in seen)
    views = {s.id: s for s in await demo.load()}
    assert views["sb-web"].container("api").state == "stopped"
    # api released its references: the shared layers are still plugged for web
    assert sorted(d.refcount for d in views["sb-web"].devices) == [1, 1]


async def test_failed_operation_raises_the_engine_text(demo: DemoSource) -> None:
    with pytest.raises(ConsoleError, match=r"^Container not paused, impossible to resume$"):
        await demo.run_op(Operation("resume_container", "sb-web", "web"))


async def test_close_stops_every_agent_process() -> None:
    source = DemoSource()
    await asyncio.wait_for(source.ready(), 30)
    pids = [s.agent.spawned.pid for s in source.sandboxes.values()]
    await source.close()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_console_on_the_demo_shows_the_marker_and_sandboxes() -> None:
    source = DemoSource()
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(source.ready(), 30)
        for _ in range(30):
            await pilot.pause(0.1)
            if len(app.sandboxes) == 3:
                break
        assert [s.id for s in app.sandboxes] == ["sb-web", "sb-batch", "sb-legacy"]
        assert "DEMO" in str(app.screen.query_one("Breadcrumb").render())


async def test_y_copies_a_path_on_this_machine_and_the_recorded_network_says_so() -> None:
    source = DemoSource()
    app = make_app(source)
    async with app.run_test(size=(120, 40)) as pilot:
        await asyncio.wait_for(source.ready(), 30)
        for _ in range(30):
            await pilot.pause(0.1)
            if len(app.sandboxes) == 3:
                break
        await pilot.press("y")  # on the sandboxes list: the first, sb-web
        copied = app.clipboard
        assert copied == str(source.store.root / "sb-web") and os.path.isdir(copied)
        assert os.path.isfile(os.path.join(copied, "persist.json"))  # what `D` reads
        await pilot.press("enter")
        for _ in range(10):
            await pilot.pause(0.1)
        links = app.screen.query_one(LinkTable)
        assert links.display and str(links.border_title).endswith(" (recorded)")


async def test_a_start_with_the_agent_dead_says_so_not_just_done() -> None:
    source = DemoSource(health_interval=0.2)
    try:
        await asyncio.wait_for(source.ready(), 30)
        await source.load()
        batch = source.sandboxes["sb-batch"]
        assert batch.state == "ready" and not batch.containers  # its one container refused
        await batch.agent.spawned.kill()  # the guest is gone
        for _ in range(50):
            await asyncio.sleep(0.1)
            if source.agent_health("sb-batch")[0] == "dead":
                break
        note = await source.run_op(Operation("start_sandbox", "sb-batch"))
        # Go's start reaches no agent with no container to start: it is done, and the
        # console says what it knows
        assert batch.state == "running"
        assert note == "marked running with no container to start; its agent is unreachable (DEAD)"
    finally:
        await source.close()


async def test_a_crashed_agent_turns_the_sandbox_dead_and_the_console_keeps_working() -> None:
    source = DemoSource(health_interval=0.2)
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(source.ready(), 30)
        await source.sandboxes["sb-web"].agent.spawned.kill()  # the guest is gone
        for _ in range(50):
            await pilot.pause(0.1)
            web = app.sandbox("sb-web")
            concluded = any("treating the agent" in line.text for line in source.logs())
            if web is not None and web.agent_health == "dead" and concluded:
                break
        assert app.sandbox("sb-web").agent_health == "dead"
        assert app.sandbox("sb-batch").agent_health == "ok"
        texts = [(line.source, line.text) for line in source.logs()]
        conclusion = next(t for src, t in texts if src == "console" and "treating the agent" in t)
        assert conclusion.startswith(  # the console's own words, then Go's monitor text
            "kata-console: treating the agent as dead: failed to ping agent: "
            "Failed to Check if grpc server is working: rpc error: code = Unavailable desc = "
        )
        await pilot.pause(0.7)  # three more intervals: the console stopped that monitor
        notes = [line for line in source.logs() if line.text.startswith("notify on errors: ")]
        assert len(notes) == 1 and "failed to ping agent: " in notes[0].text
        await pilot.press("enter")  # the UI still drills down
        await pilot.pause(0.2)
        assert "sb-web" in str(app.screen.query_one("Breadcrumb").render())
