"""Go's agent texts through a real `kata-console agent` subprocess, and Go's health monitor.

`kata_agent.go`: a missed deadline is rewritten to `rpc error: code = DeadlineExceeded
desc = <Name>Request timed out` (with Go's irregular names), an agent's error status
reads as grpc-go prints it, a failed Check is wrapped, ReadStdout/ReadStderr and
WaitProcess have no deadline. `monitor.go`: every interval the hypervisor and the agent
are pinged; a failure is logged, marks the agent dead and reaches every watcher.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from backends.agent.client import AgentClient
from backends.agent.spawn import SpawnedAgent, spawn_agent
from kata_console.engine.lifecycle.container import ContainerConfig
from kata_console.engine.lifecycle.events import Event, EventBus
from kata_console.engine.lifecycle.sandbox import Sandbox, SandboxConfig
from kata_console.engine.lifecycle.sim import SimHypervisor
from kata_console.engine.ports import AgentError, CreateContainerRequest, CreateSandboxRequest
from tests.enginekit import exact, overlay_rootfs

DEADLINE = "rpc error: code = DeadlineExceeded desc = "


@pytest.fixture
def run_dir() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="kc-texts-"))  # a unix socket path stays short
    yield base / "run"
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
async def agent(run_dir: Path) -> AsyncIterator[SpawnedAgent]:
    spawned = await spawn_agent(run_dir, tick_ms=60_000)  # a quiet workload
    yield spawned
    await spawned.stop()


async def _error(awaitable: object) -> AgentError:
    with pytest.raises(AgentError) as info:
        await awaitable  # type: ignore[misc]
    return info.value


@pytest.mark.parametrize(
    ("rpc", "text"),
    [
        ("GetGuestDetails", "GuestDetailsRequest request timed out"),
        ("RemoveStaleVirtiofsShareMounts", "removeStaleVirtiofsShareMounts timed out"),
        ("StartContainer", "StartContainerRequest timed out"),
        ("Check", "CheckRequest timed out"),  # not wrapped: Go returns it before wrapping
    ],
)
async def test_deadlines_read_as_kata_agent_rewrites_them(
    agent: SpawnedAgent, rpc: str, text: str
) -> None:
    c = agent.client(request_timeout=0.2, check_timeout=0.2)
    try:
        await c.create_sandbox(CreateSandboxRequest("sb1"))
        async with agent.control() as ctl:
            await ctl.set_faults(f"{rpc}=delay:1500")
        call = {
            "GetGuestDetails": c.get_guest_details,
            "RemoveStaleVirtiofsShareMounts": c.remove_stale_virtiofs_share_mounts,
            "StartContainer": lambda: c.start_container("c1"),
            "Check": c.check,
        }[rpc]
        err = await _error(call())
        assert (str(err), err.code) == (DEADLINE + text, "DEADLINE_EXCEEDED")
    finally:
        await c.close()


async def test_agent_statuses_read_as_grpc_go_prints_them(agent: SpawnedAgent) -> None:
    c = agent.client()
    try:
        err = await _error(c.create_container(CreateContainerRequest("c1", "c1")))
        assert str(err) == "rpc error: code = FailedPrecondition desc = sandbox not created"
        await c.create_sandbox(CreateSandboxRequest("sb1"))
        err = await _error(c.start_container("nope"))
        assert (str(err), err.code) == (
            "rpc error: code = NotFound desc = container nope not found",
            "NOT_FOUND",
        )
        async with agent.control() as ctl:
            # an agent that answers DeadlineExceeded itself is reported as it answered
            await ctl.set_faults(
                "StartContainer=error:DEADLINE_EXCEEDED:guest clock jumped",
                "Check=error:UNAVAILABLE:guest hung",
            )
        err = await _error(c.start_container("c1"))
        assert str(err) == "rpc error: code = DeadlineExceeded desc = guest clock jumped"
        err = await _error(c.check())
        assert str(err) == (
            "Failed to Check if grpc server is working: "
            "rpc error: code = Unavailable desc = guest hung"
        )
    finally:
        await c.close()


async def test_reads_and_waits_have_no_deadline(agent: SpawnedAgent) -> None:
    c = agent.client(request_timeout=0.2)
    try:
        await c.create_sandbox(CreateSandboxRequest("sb1"))
        await c.create_container(CreateContainerRequest("c1", "c1", oci={"process": {}}))
        await c.start_container("c1")
        assert b"started" in await c.read_stdout("c1", "c1", 4096)
        for call in (
            c.read_stdout("c1", "c1", 4096),
            c.read_stderr("c1", "c1", 4096),
            c.wait_process("c1", "c1"),
        ):
            task = asyncio.ensure_future(call)
            await asyncio.sleep(0.6)  # three times the request deadline
            assert not task.done()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        await c.close()


# ------------------------------------------------------------------ monitor.go
async def _running_sandbox(agent: SpawnedAgent, events: list[Event]) -> Sandbox:
    bus = EventBus()
    bus.subscribe(events.append)
    sandbox = Sandbox(
        SandboxConfig("sb1"), agent=agent.client(), hypervisor=SimHypervisor(), bus=bus
    )
    await sandbox.create()
    await sandbox.start()
    return sandbox


async def test_the_monitor_marks_a_hung_agent_dead_as_go_does(agent: SpawnedAgent) -> None:
    events: list[Event] = []
    sandbox = await _running_sandbox(agent, events)
    client = sandbox.agent
    assert isinstance(client, AgentClient)
    try:
        watcher = sandbox.monitor(0.05)
        await asyncio.sleep(0.2)
        assert watcher.empty() and not client.dead  # healthy pings say nothing
        async with agent.control() as ctl:
            await ctl.set_faults("Check=error:UNAVAILABLE:guest hung")
        error = await asyncio.wait_for(watcher.get(), 5)
        assert error == (
            "failed to ping agent: Failed to Check if grpc server is working: "
            "rpc error: code = Unavailable desc = guest hung"
        )
        logs = [(e.level, e.text, e.fields["subsystem"]) for e in events if e.kind == "log"]
        assert ("warning", f"notify on errors: {error}", "virtcontainers/monitor") in logs
        assert ("info", "mark agent dead", "kata_agent") in logs
        assert client.dead_reason == error
        with pytest.raises(AgentError, match=exact("Dead agent")):
            await sandbox.create_container(ContainerConfig("c1", overlay_rootfs("c1")))
        # Go keeps ticking: the next ping says the agent is dead
        again = await asyncio.wait_for(watcher.get(), 5)
        assert (
            again == "failed to ping agent: Failed to Check if grpc server is working: Dead agent"
        )
        checks = [e for e in events if e.kind.startswith("step") and "Check" in e.text]
        assert len(checks) == 2  # start_vm's Check only (begin, end): pings are not steps
    finally:
        await sandbox.stop_monitor()
        await client.close()


async def test_the_monitor_pings_the_hypervisor_first(agent: SpawnedAgent) -> None:
    events: list[Event] = []
    sandbox = await _running_sandbox(agent, events)
    try:
        watcher = sandbox.monitor(0.05)
        sandbox.hypervisor.running = False  # type: ignore[attr-defined]
        error = await asyncio.wait_for(watcher.get(), 5)
        assert error == "failed to ping hypervisor process: sim hypervisor: VM not running"
    finally:
        await sandbox.stop_monitor()
        await sandbox.agent.close()


async def test_only_a_running_sandbox_is_watched_and_delete_stops_the_monitor(
    agent: SpawnedAgent,
) -> None:
    events: list[Event] = []
    sandbox = await _running_sandbox(agent, events)
    try:
        watcher = sandbox.monitor(60)
        await sandbox.stop()
        with pytest.raises(Exception, match=exact("Sandbox not running")):
            sandbox.monitor()
        await sandbox.delete()
        assert await asyncio.wait_for(watcher.get(), 1) is None  # Go closes the channel
        assert ("info", "stopping monitor") in [(e.level, e.text) for e in events]
    finally:
        await sandbox.agent.close()
