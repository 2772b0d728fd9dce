"""The engine driving a real simulated-agent subprocess over gRPC (issue 4, engine side).

The agent process stands in for the Kata guest, which cannot exist here; everything on
this side of the socket (engine, client, deadlines, rollback, persistence) is the real code.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kata_console.engine.ids import SeededIds
from kata_console.engine.lifecycle.container import ContainerConfig
from kata_console.engine.lifecycle.events import STEP_BEGIN, STEP_END, Event, EventBus
from kata_console.engine.lifecycle.sandbox import Sandbox, SandboxConfig
from kata_console.engine.lifecycle.sim import SimHypervisor
from kata_console.engine.persist.store import PersistStore
from kata_console.engine.ports import AgentError
from kata_console.wiring import make_agent
from tests.enginekit import SNAP, erofs_rootfs, layer


class Rig:
    """A sandbox whose agent is a spawned subprocess; `events` records the engine's steps."""

    def __init__(self, tmp: Path, sandbox: Sandbox, agent, close, events: list[Event]) -> None:
        self.tmp, self.sandbox, self.agent, self.close, self.events = (
            tmp,
            sandbox,
            agent,
            close,
            events,
        )

    def steps(self) -> list[str]:
        return [e.text for e in self.events if e.kind == STEP_BEGIN]

    def persisted_state(self, cid: str) -> str:
        path = self.tmp / "state" / self.sandbox.id / cid / "persist.json"
        return json.loads(path.read_text())["State"]


async def make_rig(tmp: Path, faults: tuple[str, ...] = (), **timeouts: float) -> Rig:
    agent, close = await make_agent("spawn", tmp / "vm", faults=faults, **timeouts)
    bus = EventBus()
    events: list[Event] = []
    bus.subscribe(events.append)

    def erofs(rootfs, host):  # the layers a recorded host would give (see test_rootfs.py)
        return [layer(2), layer(1)]

    sandbox = Sandbox(
        SandboxConfig("sb-grpc"),
        agent=agent,
        hypervisor=SimHypervisor(),
        store=PersistStore(tmp / "state", fsync=False),
        ids=SeededIds(7),
        bus=bus,
        erofs_devices=erofs,
    )
    return Rig(tmp, sandbox, agent, close, events)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    r = await make_rig(tmp_path)
    try:
        yield r
    finally:
        await r.close()


async def test_full_lifecycle_through_a_real_agent_process(rig: Rig) -> None:
    sb = rig.sandbox
    await sb.create()
    await sb.start()
    await sb.create_container(ContainerConfig("c1", erofs_rootfs(2, 1)))
    ctl = rig.agent.spawned.control()
    guest = (await ctl.inspect()).containers["c1"]
    assert [s.fstype for s in guest.storages] == ["erofs", "erofs", "overlay"]
    assert guest.storages[-1].mount_point == "/run/kata-containers/c1/rootfs"
    await sb.start_container("c1")
    lines = []
    async for line in rig.agent.stdout_lines("c1"):
        lines.append(line)
        if len(lines) == 2:
            break
    assert all("c1" in line for line in lines)
    await sb.stop_container("c1")
    await sb.delete_container("c1")
    await sb.stop()
    await ctl.close()
    assert rig.steps()[:4] == [
        "start VM (sim)",
        "RPC Check{}",
        'RPC CreateSandbox{sandbox_id="sb-grpc"}',
        "RPC GetGuestDetails{}",
    ]
    assert 'RPC StartContainer{container_id="c1"}' in rig.steps()
    assert f"{SNAP}/2/layer.erofs" in "\n".join(rig.steps())  # the hotplug step names the file
    assert sb.state == "stopped"


async def test_agent_killed_during_start_rolls_back(tmp_path: Path) -> None:
    rig = await make_rig(tmp_path, faults=("StartContainer=crash",))
    try:
        sb = rig.sandbox
        await sb.create()
        await sb.start()
        await sb.create_container(ContainerConfig("c1", erofs_rootfs(2, 1)))
        with pytest.raises(AgentError) as err:
            await sb.start_container("c1")
        assert err.value.code == "UNAVAILABLE"
        container = sb.find_container("c1")
        # Go: start failure -> stop(force=True) -> stopped, whatever the dead agent says.
        assert container.state == "stopped" == rig.persisted_state("c1")
        after = rig.steps()[rig.steps().index('RPC StartContainer{container_id="c1"}') + 1 :]
        assert after[0].startswith("RPC SignalProcess") and any(
            "RemoveContainer" in s for s in after
        )
        assert all(r.attach_count == 0 for r in sb.device_rows())  # devices detached anyway
        failed = [e for e in rig.events if e.kind == STEP_END and e.error]
        assert failed[0].status == "UNAVAILABLE"
    finally:
        await rig.close()


@pytest.mark.parametrize(
    ("delay_ms", "error"),
    [
        (100, None),
        (1500, "rpc error: code = DeadlineExceeded desc = CreateContainerRequest timed out"),
    ],
)
async def test_create_container_deadline(tmp_path: Path, delay_ms: int, error: str | None) -> None:
    rig = await make_rig(
        tmp_path, faults=(f"CreateContainer=delay:{delay_ms}",), create_container_timeout=0.5
    )
    try:
        sb = rig.sandbox
        await sb.create()
        await sb.start()
        if error is None:
            await sb.create_container(ContainerConfig("c1", erofs_rootfs(2, 1)))
            assert sb.find_container("c1").state == "ready"
        else:
            with pytest.raises(AgentError) as err:
                await sb.create_container(ContainerConfig("c1", erofs_rootfs(2, 1)))
            assert str(err.value) == error and err.value.code == "DEADLINE_EXCEEDED"
            assert sb.device_rows() == []  # rolled back: refcounts where they were
    finally:
        await rig.close()


async def test_signal_to_an_exited_process_is_swallowed(rig: Rig) -> None:
    sb = rig.sandbox
    await sb.create()
    await sb.start()
    await sb.create_container(ContainerConfig("c1", erofs_rootfs(2, 1)))
    await sb.start_container("c1")
    ctl = rig.agent.spawned.control()
    await ctl.inject_oom("c1")
    await ctl.close()
    await sb.kill_container("c1", 15)  # agent answers ESRCH: the engine returns nil, like Go
    ends = [e for e in rig.events if e.kind == STEP_END and e.text.startswith("RPC SignalProcess")]
    assert "ESRCH: No such process" in (ends[-1].error or "")
