"""Sandbox operations, the container registry, block indexes, shared layers, events and the
Stepper gate."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kata_console.engine import errors as E
from kata_console.engine.errors import PreconditionError
from kata_console.engine.lifecycle.container import ContainerConfig
from kata_console.engine.lifecycle.events import Stepper
from kata_console.engine.lifecycle.sandbox import Sandbox, SandboxConfig
from kata_console.engine.lifecycle.sim import SimAgent, SimHypervisor
from kata_console.engine.lifecycle.states import StateError
from kata_console.engine.persist.store import InvalidIdError
from kata_console.engine.ports import AgentError, HypervisorError
from tests.enginekit import Kit, erofs_rootfs, exact, layer


async def test_create_boots_the_vm_then_talks_to_the_agent(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.sandbox.create()
    assert kit.steps() == [
        "start VM (sim)",
        "RPC Check{}",
        'RPC CreateSandbox{sandbox_id="sb1"}',
        "RPC GetGuestDetails{}",
    ]
    assert kit.sandbox.state == "ready" and kit.sandbox.guest_memory_block_size_mb == 128
    assert (tmp_path / "sb1" / "persist.json").is_file()
    with pytest.raises(E.PreconditionError) as info:
        await kit.sandbox.create()
    assert str(info.value) == 'Sandbox "sb1" already created (state ready), impossible to create'


async def test_failed_create_stops_the_vm_and_deletes(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    kit.agent.request_timeout = 0.01
    kit.agent.faults.stall("create_sandbox", 5.0)
    text = "rpc error: code = DeadlineExceeded desc = CreateSandboxRequest timed out"
    with pytest.raises(AgentError, match=exact(text)):
        await kit.sandbox.create()
    # CreateSandbox is part of Go's startVM: its failure only stops the VM (no guest
    # sandbox exists to destroy), then the deferred Delete runs.
    assert kit.steps()[-3:] == [
        'RPC CreateSandbox{sandbox_id="sb1"}',
        "stop VM (sim)",
        f"remove {tmp_path}/sb1",
    ]
    assert kit.sandbox.state == "" and not kit.hypervisor.running
    assert not (tmp_path / "sb1").exists()
    kit.agent.faults.clear()
    await kit.sandbox.create()  # the object can be created again
    assert kit.sandbox.state == "ready"


async def test_failure_after_start_vm_destroys_the_guest_sandbox_and_stops_the_vm(
    tmp_path: Path,
) -> None:
    kit = Kit(tmp_path)
    kit.agent.faults.fail("get_guest_details", AgentError("boom", "INTERNAL"))
    with pytest.raises(AgentError, match=exact("rpc error: code = Internal desc = boom")):
        await kit.sandbox.create()
    assert kit.steps()[-4:] == [
        "RPC GetGuestDetails{}",
        "RPC DestroySandbox{}",
        "stop VM (sim)",
        f"remove {tmp_path}/sb1",
    ]
    assert not kit.hypervisor.running and kit.sandbox.state == ""


async def test_a_failed_first_save_rolls_the_create_back(tmp_path: Path) -> None:
    kit = Kit(tmp_path)

    def full(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    kit.store.write_sandbox = full  # type: ignore[method-assign]
    with pytest.raises(Exception, match="No space left on device"):
        await kit.sandbox.create()
    assert kit.sandbox.state == "" and not kit.hypervisor.running
    assert "RPC DestroySandbox{}" in kit.steps()


async def test_create_never_touches_an_existing_sandbox_directory(tmp_path: Path) -> None:
    live = tmp_path / "sb1"
    (live / "c1").mkdir(parents=True)
    (live / "persist.json").write_text('{"State": "running"}')
    (live / "shim-monitor.sock").write_text("")
    kit = Kit(tmp_path)
    with pytest.raises(PreconditionError, match="already exists on disk"):
        await kit.sandbox.create()
    assert kit.steps() == [] and not kit.hypervisor.running
    assert (live / "persist.json").read_text() == '{"State": "running"}'
    assert sorted(p.name for p in live.iterdir()) == ["c1", "persist.json", "shim-monitor.sock"]


async def test_failed_vm_start(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    kit.hypervisor.faults.fail("start_vm", HypervisorError("qemu: could not open kernel"))
    with pytest.raises(HypervisorError):
        await kit.sandbox.create()
    assert "RPC Check{}" not in kit.steps() and kit.steps()[-2] == "stop VM (sim)"


async def test_start_and_stop_use_the_transition_table(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    with pytest.raises(StateError, match=exact('Can not move from "" to running')):
        await kit.sandbox.start()
    with pytest.raises(StateError, match=exact('Can not move from "" to stopped')):
        await kit.sandbox.stop(force=True)  # even with force
    await kit.up()
    with pytest.raises(StateError, match=exact("Can not move from running to running")):
        await kit.sandbox.start()
    await kit.sandbox.stop()
    mark = kit.mark()
    await kit.sandbox.stop()  # already stopped: no-op
    assert kit.steps_since(mark) == []
    assert any(e.text == "sandbox already stopped" for e in kit.events)


async def test_start_reverts_state_when_a_container_fails(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up(start=False)
    await kit.container("c1")
    kit.agent.faults.fail("start_container", AgentError("boom", "INTERNAL"))
    with pytest.raises(AgentError):
        await kit.sandbox.start()
    assert kit.sandbox.state == "ready"
    assert kit.sandbox.containers["c1"].state == "stopped"  # rolled back by stop(force)


async def test_stop_stops_containers_destroys_and_stops_vm(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1", 1)
    await kit.sandbox.start_container("c1")
    mark = kit.mark()
    await kit.sandbox.stop()
    steps = kit.steps_since(mark)
    assert steps[0].startswith("RPC SignalProcess") and steps[-2:] == [
        "RPC DestroySandbox{}",
        "stop VM (sim)",
    ]
    assert kit.sandbox.state == "stopped" and kit.sandbox.containers["c1"].state == "stopped"


async def test_vm_stop_error_is_returned_unless_force(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    kit.hypervisor.faults.fail("stop_vm", HypervisorError("qmp: quit failed"))
    with pytest.raises(HypervisorError):
        await kit.sandbox.stop()
    assert kit.sandbox.state == "running"
    kit.hypervisor.faults.fail("stop_vm", HypervisorError("qmp: quit failed"))
    kit.agent.faults.fail("destroy_sandbox", AgentError("Dead agent", "UNAVAILABLE"))
    await kit.sandbox.stop(force=True)
    assert kit.sandbox.state == "stopped"


async def test_delete_preconditions_and_directory_removal(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    with pytest.raises(
        E.PreconditionError,
        match=exact("Sandbox not ready, paused or stopped, impossible to delete"),
    ):
        await kit.sandbox.delete()
    await kit.container("c1")
    await kit.sandbox.stop()
    assert (tmp_path / "sb1" / "c1" / "persist.json").is_file()
    await kit.sandbox.delete()
    assert (
        not (tmp_path / "sb1").exists() and kit.sandbox.state == "" and kit.sandbox.containers == {}
    )


async def test_registry_texts(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1")
    with pytest.raises(E.PreconditionError, match=exact("Duplicated container: c1")):
        await kit.container("c1")
    with pytest.raises(E.NotFoundError, match=exact("Container ID cannot be empty")):
        await kit.sandbox.delete_container("")
    with pytest.raises(E.NotFoundError, match=exact("Container ID cannot be empty")):
        await kit.sandbox.start_container("")
    with pytest.raises(E.NotFoundError) as info:
        await kit.sandbox.start_container("c9")
    assert str(info.value) == (
        'Could not find the container "c9" from the sandbox "sb1" containers list: '
        "Container does not exist"
    )
    with pytest.raises(E.NotFoundError, match=exact("Container does not exist")):
        kit.sandbox.status_container("c9")
    with pytest.raises(E.PreconditionError, match=exact("Invalid container configuration")):
        await kit.sandbox.create_container(ContainerConfig(""))
    with pytest.raises(E.NotFoundError) as info:
        kit.sandbox.remove_container("c9")
    assert str(info.value) == (
        'Could not remove the container "c9" from the sandbox "sb1" containers list: '
        "Container does not exist"
    )


async def test_shared_layer_is_plugged_once_and_unplugged_with_its_last_user(
    tmp_path: Path,
) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1", 2, 1)
    await kit.container("c2", 3, 1)
    shared = kit.row(layer(1).host_path)
    assert (shared.refcount, shared.attach_count) == (2, 2)
    assert len(kit.hypervisor.plugged) == 3
    assert sum(c[0] == "hotplug_add_block" for c in kit.hypervisor.calls) == 3
    await kit.sandbox.stop_container("c1")
    shared = kit.row(layer(1).host_path)
    assert (shared.refcount, shared.attach_count) == (1, 1) and kit.row(layer(2).host_path) is None
    await kit.sandbox.stop_container("c2")
    assert kit.sandbox.device_rows() == [] and kit.hypervisor.plugged == {}


async def test_block_index_is_lowest_free_and_reused(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1", 1)
    await kit.container("c2", 2)
    await kit.container("c3", 3)
    assert [kit.row(layer(n).host_path).index for n in (1, 2, 3)] == [0, 1, 2]
    await kit.sandbox.stop_container("c2")
    assert kit.sandbox.block_index_map == {0, 2}
    await kit.container("c4", 4)
    assert kit.row(layer(4).host_path).index == 1
    await kit.container("c5", 5)
    assert kit.row(layer(5).host_path).index == 3


async def test_no_block_index_left(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    kit.sandbox.block_index_map = set(range(65535))
    with pytest.raises(E.DeviceError, match=exact("no available block index")):
        await kit.container("c1", 1)
    assert kit.sandbox.device_rows() == []


async def test_virtio_blk_gets_vd_names_and_pci_paths(tmp_path: Path) -> None:
    kit = Kit(tmp_path, driver="virtio-blk")
    await kit.up()
    await kit.container("c1", 1, 2)
    rows = [kit.row(layer(n).host_path) for n in (1, 2)]
    assert [r.address for r in rows] == ["02/01", "02/02"]
    drives = [d.drive for d in kit.sandbox.devices.get_all_devices()]
    assert [d.virt_path for d in drives] == ["/dev/vda", "/dev/vdb"]
    assert [s.driver for s in kit.agent.containers["c1"].request.storages[:2]] == ["blk", "blk"]
    assert any("(virtio-blk /dev/vda)" in s for s in kit.steps())


async def test_hostile_ids_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    for bad in ("../x", "a/b", "x" * 300, "a", ".hidden", "a\nb"):
        with pytest.raises(InvalidIdError):
            Sandbox(SandboxConfig(bad), agent=SimAgent(), hypervisor=SimHypervisor())
    kit = Kit(tmp_path)
    await kit.up()
    before = sorted(p.name for p in (tmp_path / "sb1").iterdir())
    for bad in ("../x", "a/b", "y" * 300):
        with pytest.raises(InvalidIdError):
            await kit.sandbox.create_container(ContainerConfig(bad, erofs_rootfs(1)))
    assert sorted(p.name for p in (tmp_path / "sb1").iterdir()) == before
    assert list(tmp_path.iterdir()) == [tmp_path / "sb1"]
    assert kit.sandbox.device_rows() == []


async def test_events_carry_logrus_fields_and_timings(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1", 1)
    logs = [e for e in kit.events if e.kind == "log" and e.container == "c1"]
    assert logs and all(
        e.fields["subsystem"] == "container"
        and e.fields["sandbox"] == "sb1"
        and e.fields["container"] == "c1"
        for e in logs
    )
    begins = {e.step: e for e in kit.events if e.kind == "step.begin"}
    ends = [e for e in kit.events if e.kind == "step.end"]
    assert len(begins) == len(ends) and all(
        e.step in begins and e.duration is not None for e in ends
    )
    assert [e.seq for e in kit.events] == sorted(e.seq for e in kit.events)
    plug = next(e for e in kit.events if e.kind == "step.begin" and e.text.startswith("hotplug"))
    assert plug.container == "c1"  # a sandbox-level hot-plug, shown in the container's pane too
    states = [e.text for e in kit.events if e.kind == "state"]
    assert states[-1] == 'container c1: "" -> ready'


async def test_stepper_holds_each_step_until_released(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    stepper = kit.bus.stepper
    stepper.hold()
    task = asyncio.create_task(kit.container("c1", 1))
    await asyncio.sleep(0.01)
    held = [e for e in kit.events if e.kind == "step.held"]
    assert [e.text for e in held] == [stepper.waiting[0]] and held[0].text.startswith(
        "hotplug block"
    )
    assert not any(e.kind == "step.begin" and e.text.startswith("hotplug") for e in kit.events)
    assert stepper.release() == 1
    await asyncio.sleep(0.01)
    assert stepper.waiting == [
        'RPC CreateContainer{container_id="c1", exec_id="c1", storages=2, devices=0}'
    ]
    assert not task.done()
    stepper.run_freely()
    await task
    assert kit.sandbox.containers["c1"].state == "ready"


async def test_stepper_credit_and_free_running() -> None:
    stepper = Stepper()
    assert not stepper.must_wait()
    await stepper.wait("free")  # no hold: returns at once
    stepper.hold()
    assert stepper.release(2) == 0
    await stepper.wait("a")
    await stepper.wait("b")  # both used the credit
    assert stepper.must_wait()
