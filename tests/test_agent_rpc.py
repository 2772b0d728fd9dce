"""The agent over gRPC, end to end: real `kata-console agent` subprocesses on unix
sockets, driven through `AgentClient` (the engine's `Agent` port)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import stat
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from backends.agent.client import AgentClient
from backends.agent.spawn import SpawnedAgent, connect, spawn_agent
from kata_console.engine.ports import (
    AgentError,
    CreateContainerRequest,
    CreateSandboxRequest,
    GuestDevice,
    Storage,
)

SHARED = Storage("virtio-fs", "kataShared", "virtiofs", "/run/kata-containers/shared/containers/")
ROOTFS = Storage("blk", "/dev/vda", "ext4", "/run/kata-containers/c1/rootfs", options=["ro"])
DISK = GuestDevice("drive-1", "blk", "/dev/vdb", "/dev/xvdb")


@pytest.fixture
def run_dir() -> Iterator[Path]:
    """Short paths: a unix socket path must stay under 108 bytes."""
    base = Path(tempfile.mkdtemp(prefix="kc-agent-"))
    yield base / "run"
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
async def agent(run_dir: Path) -> AsyncIterator[SpawnedAgent]:
    spawned = await spawn_agent(run_dir, tick_ms=20)
    yield spawned
    await spawned.stop()
    assert spawned.returncode is not None


@pytest.fixture
async def client(agent: SpawnedAgent) -> AsyncIterator[AgentClient]:
    c = agent.client(dial_timeout=5)
    yield c
    await c.close()


async def _sandbox_with_container(c: AgentClient, cid: str = "c1", start: bool = True) -> None:
    await c.create_sandbox(CreateSandboxRequest("sb1", hostname="sb1", storages=[SHARED]))
    await c.create_container(
        CreateContainerRequest(cid, cid, storages=[ROOTFS], devices=[DISK],
                               oci={"process": {"args": ["nginx", "-g", "daemon off;"]}})
    )  # fmt: skip
    if start:
        await c.start_container(cid)


async def _code(awaitable: object) -> str:
    with pytest.raises(AgentError) as info:
        await awaitable  # type: ignore[misc]
    return info.value.code


async def test_full_lifecycle_through_a_real_agent(agent: SpawnedAgent) -> None:
    calls: list[tuple[str, str]] = []
    c = agent.client(on_rpc=lambda name, code, secs: calls.append((name, code)))
    try:
        await c.check()
        await _sandbox_with_container(c, start=False)
        details = await c.get_guest_details()
        assert details.mem_block_size_bytes == 128 << 20 and "blk" in details.storage_handlers
        async with agent.control() as ctl:
            view = await ctl.inspect()
            assert view.sandbox_id == "sb1" and view.storages == [SHARED]
            assert view.containers["c1"].storages == [ROOTFS]
            assert view.containers["c1"].devices == [DISK]
            assert view.containers["c1"].state == "created"
            await c.start_container("c1")
            assert (await ctl.inspect()).containers["c1"].state == "running"
            await c.signal_process("c1", "", signal.SIGKILL)
            assert await c.wait_process("c1", "c1") == 128 + signal.SIGKILL
            assert (await ctl.inspect()).containers["c1"].state == "stopped"
            await c.remove_container("c1")
            await c.remove_stale_virtiofs_share_mounts()
            await c.destroy_sandbox()
            view = await ctl.inspect()
            assert view.sandbox_id == "" and view.containers == {}
            assert view.rpc_counts["StartContainer"] == 1
    finally:
        await c.close()
    assert calls == [
        ("Check", "OK"), ("CreateSandbox", "OK"), ("CreateContainer", "OK"),
        ("GetGuestDetails", "OK"), ("StartContainer", "OK"), ("SignalProcess", "OK"),
        ("WaitProcess", "OK"), ("RemoveContainer", "OK"),
        ("RemoveStaleVirtiofsShareMounts", "OK"), ("DestroySandbox", "OK"),
    ]  # fmt: skip


async def test_agent_killed_during_start_container_fails_promptly(run_dir: Path) -> None:
    agent = await spawn_agent(run_dir, faults=["StartContainer=delay:10000"])
    c = agent.client(dial_timeout=2)
    try:
        await _sandbox_with_container(c, start=False)
        start = asyncio.create_task(c.start_container("c1"))
        await asyncio.sleep(0.2)
        assert not start.done()
        began = time.monotonic()
        os.kill(agent.pid, signal.SIGKILL)
        with pytest.raises(AgentError) as info:
            await start
        assert time.monotonic() - began < 2.0
        assert info.value.code == "UNAVAILABLE"
        assert "timed out" not in str(info.value)
        assert await _code(c.stats_container("c1")) == "UNAVAILABLE"
    finally:
        await c.close()
        await agent.stop()
    assert agent.returncode == -signal.SIGKILL


async def test_crash_fault_exits_the_agent_mid_rpc(run_dir: Path) -> None:
    agent = await spawn_agent(run_dir, faults=["StartContainer=crash"])
    c = agent.client()
    try:
        await _sandbox_with_container(c, start=False)
        assert await _code(c.start_container("c1")) == "UNAVAILABLE"
        assert await asyncio.wait_for(agent.process.wait(), 5) == 1
        assert "crash fault while handling StartContainer" in agent.log_tail()
    finally:
        await c.close()
        await agent.stop()


async def test_delays_within_and_beyond_the_deadline(agent: SpawnedAgent) -> None:
    c = agent.client(create_container_timeout=0.3, request_timeout=0.3)
    try:
        await c.create_sandbox(CreateSandboxRequest("sb1"))
        async with agent.control() as ctl:
            await ctl.set_faults("CreateContainer=delay:100", "StartContainer=delay:100")
            await c.create_container(CreateContainerRequest("c1", "c1"))
            await c.start_container("c1")
            await ctl.set_faults("CreateContainer=delay:600", "StatsContainer=delay:600")
            with pytest.raises(AgentError) as info:
                await c.create_container(CreateContainerRequest("c2", "c2"))
            assert (str(info.value), info.value.code) == (
                "rpc error: code = DeadlineExceeded desc = CreateContainerRequest timed out",
                "DEADLINE_EXCEEDED",
            )
            with pytest.raises(
                AgentError,
                match=r"^rpc error: code = DeadlineExceeded desc = StatsContainerRequest timed out$",
            ):
                await c.stats_container("c1")
            assert await ctl.clear_faults() == []
            await asyncio.sleep(0.4)  # past the delay: the abandoned request never acted
            assert sorted((await ctl.inspect()).containers) == ["c1"]
    finally:
        await c.close()


async def test_signal_to_an_exited_process_gives_esrch(client: AgentClient) -> None:
    await _sandbox_with_container(client)
    await client.signal_process("c1", "c1", signal.SIGTERM)
    assert await client.wait_process("c1", "c1") == 128 + signal.SIGTERM
    for exec_id in ("c1", ""):
        with pytest.raises(AgentError) as info:
            await client.signal_process("c1", exec_id, signal.SIGKILL)
        assert "ESRCH: No such process" in str(info.value)


async def test_out_of_order_calls_get_the_agents_codes(client: AgentClient) -> None:
    assert await _code(client.create_container(CreateContainerRequest("c1", "c1"))) == (
        "FAILED_PRECONDITION"
    )
    assert await _code(client.destroy_sandbox()) == "FAILED_PRECONDITION"
    assert await _code(client.start_container("nope")) == "NOT_FOUND"
    await _sandbox_with_container(client, start=False)
    assert await _code(client.create_sandbox(CreateSandboxRequest("sb1"))) == "ALREADY_EXISTS"
    assert await _code(client.create_container(CreateContainerRequest("c1", "c1"))) == (
        "ALREADY_EXISTS"
    )
    assert await _code(client.pause_container("c1")) == "FAILED_PRECONDITION"
    assert await _code(client.exec_process("c1", "e1", {"args": ["ls"]})) == "FAILED_PRECONDITION"
    await client.start_container("c1")
    assert await _code(client.start_container("c1")) == "FAILED_PRECONDITION"
    assert await _code(client.resume_container("c1")) == "FAILED_PRECONDITION"
    assert await _code(client.wait_process("c1", "nope")) == "NOT_FOUND"
    assert await _code(client.stats_container("nope")) == "NOT_FOUND"
    await client.exec_process("c1", "e1", {"args": ["ls"]})
    assert await _code(client.exec_process("c1", "e1", {"args": ["ls"]})) == "ALREADY_EXISTS"
    await client.pause_container("c1")
    await client.resume_container("c1")


async def test_wait_blocks_until_signalled_and_stdout_arrives_in_order(
    client: AgentClient,
) -> None:
    await _sandbox_with_container(client)
    waiter = asyncio.create_task(client.wait_process("c1", "c1"))
    lines: list[str] = []
    async for line in client.stdout_lines("c1", "c1"):
        lines.append(line)
        if len(lines) == 6:
            assert not waiter.done()
            await client.signal_process("c1", "", signal.SIGKILL)
    assert await waiter == 137
    assert "started nginx -g daemon off;" in lines[0]
    ticks = [int(line.rsplit(" ", 1)[1]) for line in lines[1:]]
    assert ticks == list(range(1, len(ticks) + 1)) and len(ticks) >= 5
    stamps = [line.split(" ", 1)[0] for line in lines]
    assert stamps == sorted(stamps)
    assert await client.read_stdout("c1", "c1", 1024) == b""  # EOF after exit


async def test_stats_grow_and_exec_stdin_echoes(client: AgentClient) -> None:
    await _sandbox_with_container(client)
    samples = []
    for _ in range(3):
        samples.append(await client.stats_container("c1"))
        await asyncio.sleep(0.03)
    cpu = [s["cgroup_stats"]["cpu_stats"]["cpu_usage"]["total_usage"] for s in samples]
    mem = [s["cgroup_stats"]["memory_stats"]["usage"]["usage"] for s in samples]
    rx = [s["network_stats"][0]["rx_bytes"] for s in samples]
    assert cpu == sorted(set(cpu)) and mem == sorted(set(mem)) and rx == sorted(set(rx))
    await client.update_container("c1", {"memory": {"limit": 256 << 20}})
    limit = (await client.stats_container("c1"))["cgroup_stats"]["memory_stats"]["usage"]["limit"]
    assert limit == 256 << 20
    await client.exec_process("c1", "sh-1", {"args": ["sh"], "terminal": True})
    await client.tty_win_resize("c1", "sh-1", 24, 80)
    assert await client.write_stdin("c1", "sh-1", b"echo hi\n") == 8
    seen = b""
    while b"echo hi" not in seen:
        seen += await client.read_stdout("c1", "sh-1", 4096)
    await client.signal_process("c1", "sh-1", signal.SIGTERM)
    assert await client.wait_process("c1", "sh-1") == 143


async def test_a_dead_agent_fails_every_call_at_once(agent: SpawnedAgent) -> None:
    deaths: list[str] = []
    c = agent.client(on_dead=deaths.append)
    try:
        await _sandbox_with_container(c)
        c.mark_dead("failed to ping agent: ...")
        c.mark_dead("again")  # idempotent: one notice
        assert deaths == ["failed to ping agent: ..."]
        began = time.monotonic()
        with pytest.raises(AgentError) as info:
            await c.start_container("c1")
        assert (str(info.value), info.value.code) == ("Dead agent", "UNAVAILABLE")
        with pytest.raises(AgentError) as info:
            await c.check()
        assert str(info.value) == "Failed to Check if grpc server is working: Dead agent"
        assert time.monotonic() - began < 0.05
    finally:
        await c.close()


async def test_dial_timeout_when_nothing_listens(run_dir: Path) -> None:
    """Go's unix-socket dialer text; Go's `connect` then marks the agent dead for good."""
    run_dir.mkdir(mode=0o700)
    c = connect(f"unix://{run_dir}/agent.sock", dial_timeout=0.3)
    began = time.monotonic()
    dial = (
        "rpc error: code = DeadlineExceeded desc = "
        f"timed out connecting to remote sock: {run_dir}/agent.sock"
    )
    try:
        with pytest.raises(AgentError) as info:
            await c.start_container("c1")
        assert (str(info.value), info.value.code) == (dial, "DEADLINE_EXCEEDED")
        assert 0.25 < time.monotonic() - began < 2.0
        assert c.dead_reason == dial
        with pytest.raises(AgentError) as info:
            await c.check()
        assert str(info.value) == "Failed to Check if grpc server is working: Dead agent"
    finally:
        await c.close()


async def test_socket_is_private_and_removed_on_stop(agent: SpawnedAgent) -> None:
    assert stat.S_IMODE(agent.run_dir.stat().st_mode) == 0o700
    sock = agent.socket_path.lstat()
    assert stat.S_ISSOCK(sock.st_mode) and stat.S_IMODE(sock.st_mode) == 0o600
    assert await agent.stop() == 0
    assert not agent.socket_path.exists()


async def test_world_writable_run_dir_is_refused(run_dir: Path) -> None:
    run_dir.mkdir()
    run_dir.chmod(0o777)
    with pytest.raises(AgentError, match="world-writable"):
        await spawn_agent(run_dir)


async def test_a_killed_agents_stale_socket_does_not_block_the_next(run_dir: Path) -> None:
    first = await spawn_agent(run_dir)
    await first.kill()
    assert first.socket_path.exists()
    second = await spawn_agent(run_dir)
    try:
        c = second.client()
        await c.check()
        await c.close()
    finally:
        await second.stop()
        await first.stop()


async def test_oom_event_and_inspection_of_faults(client: AgentClient, agent: SpawnedAgent) -> None:
    await _sandbox_with_container(client)
    oom = asyncio.create_task(client.get_oom_event())
    async with agent.control() as ctl:
        assert await ctl.set_faults("GetMetrics=delay:1") == ["GetMetrics=delay:1"]
        with pytest.raises(AgentError) as info:
            await ctl.set_faults("Bogus=crash")
        assert info.value.code == "INVALID_ARGUMENT"
        await ctl.inject_oom("c1")
    assert await asyncio.wait_for(oom, 2) == "c1"
    assert await client.wait_process("c1", "") == 137
    assert "kata_agent_rpcs_total" in await client.get_metrics()
    names = [i["name"] for i in await client.list_interfaces()]
    assert names == ["lo", "eth0"]
    assert (await client.version())[1].endswith("kata-console-sim")
