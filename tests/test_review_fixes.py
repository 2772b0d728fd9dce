"""Regressions found in review: gates left closed, agents outliving their VM, unsafe run
directories, relative agent addresses."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from backends.agent.spawn import spawn_agent
from kata_console.engine.lifecycle.plan import PlanError, parse_plan
from kata_console.engine.ports import AgentError
from kata_console.sources.demo_source import DemoSource
from kata_console.sources.model import Operation
from kata_console.sources.plan_source import PlanSource


async def test_console_actions_run_after_a_stepped_plan_ended(tmp_path: Path) -> None:
    """The plan's Stepper is held while stepping; once the plan is over a console action
    must not wait at a gate that no step key can open any more."""
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "sandbox": {
                    "id": "sb-x",
                    "agent": "sim",
                    "hypervisor": "sim",
                    "seed": 1,
                    "disable_block_device_use": True,  # an overlay shared over virtio-fs
                },
                "ops": [
                    {"op": "create_sandbox"},
                    {"op": "start_sandbox"},
                    {
                        "op": "create_container",
                        "id": "c1",
                        "rootfs": {"type": "overlay", "options": ["lowerdir=/a"]},
                    },
                ],
            }
        )
    )
    source = PlanSource(plan, step=True)
    try:
        await source.load()
        for _ in range(500):  # press "step" until the plan is over
            source.bus.stepper.release(1)
            await asyncio.sleep(0.005)
            if source._task is not None and source._task.done():
                break
        await asyncio.wait_for(source.wait(), 10)
        await asyncio.wait_for(source.run_op(Operation("start_container", "sb-x", "c1")), 5)
        assert source.sandboxes["sb-x"].containers["c1"].state == "running"
    finally:
        await source.close()


async def test_stopping_and_deleting_a_sandbox_stops_its_agent_and_unlists_it() -> None:
    source = DemoSource()
    try:
        await asyncio.wait_for(source.ready(), 30)
        legacy = source.sandboxes["sb-legacy"]  # the scenario stopped it
        with pytest.raises(ProcessLookupError):
            os.kill(legacy.agent.spawned.pid, 0)  # its agent went with its VM
        await source.run_op(Operation("delete_sandbox", "sb-legacy"))
        assert [s.id for s in await source.load()] == ["sb-web", "sb-batch"]
    finally:
        await source.close()


def test_a_relative_agent_socket_is_refused() -> None:
    with pytest.raises(PlanError, match="unix:///ABSOLUTE/PATH"):
        parse_plan({"sandbox": {"id": "sb1", "agent": "unix://relative.sock"}, "ops": []})


async def test_spawn_refuses_a_run_dir_owned_by_someone_else(tmp_path: Path) -> None:
    run = tmp_path / "vm"
    run.mkdir(mode=0o700)
    os.chown(run, 65534, 65534) if os.geteuid() == 0 else pytest.skip("needs root to chown")
    with pytest.raises(AgentError, match="owned by uid 65534"):
        await spawn_agent(run)


async def test_spawn_never_follows_a_planted_log_symlink(tmp_path: Path) -> None:
    run = tmp_path / "vm"
    run.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("untouched\n")
    (run / "agent.log").symlink_to(victim)
    with pytest.raises(AgentError, match=r"agent\.log"):
        await spawn_agent(run)
    assert victim.read_text() == "untouched\n"
    assert json.dumps(sorted(p.name for p in run.iterdir())) == '["agent.log"]'


async def test_closing_a_plan_does_not_wait_out_a_hung_agent(tmp_path: Path) -> None:
    plan = tmp_path / "slow.json"
    plan.write_text(
        json.dumps(
            {
                "sandbox": {
                    "id": "sb-slow",
                    "agent": "spawn",
                    "hypervisor": "sim",
                    "agent_faults": [
                        "StartContainer=delay:60000",
                        "SignalProcess=delay:60000",
                        "RemoveContainer=delay:60000",
                    ],
                },
                "ops": [
                    {"op": "create_sandbox"},
                    {"op": "start_sandbox"},
                    {
                        "op": "create_container",
                        "id": "c1",
                        "rootfs": {"type": "overlay", "options": ["lowerdir=/a"]},
                    },
                    {"op": "start_container", "id": "c1"},
                ],
            }
        )
    )
    source = PlanSource(plan, step=False)
    await source.load()
    for _ in range(200):
        if any("StartContainer" in e.text for e in source.bus.history):
            break
        await asyncio.sleep(0.05)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await source.close(grace=0.5)
    assert loop.time() - t0 < 10
