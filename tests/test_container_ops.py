"""Container operations: Go preconditions in every state (text-exact, before any side
effect), stop's order and force rule, and the create/start rollbacks."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest

from kata_console.engine import errors as E
from kata_console.engine.deviceinfo import DeviceInfo
from kata_console.engine.lifecycle.container import ContainerConfig
from kata_console.engine.mounts.rootfs import RootFs, RootfsError
from kata_console.engine.ports import AgentError, HypervisorError
from tests.enginekit import Kit, exact, layer, overlay_rootfs

# (sandbox state, container state) pairs reachable through real operations
COMBOS = [
    ("ready", "ready"),
    ("ready", "stopped"),
    ("running", "ready"),
    ("running", "running"),
    ("running", "paused"),
    ("running", "stopped"),
    ("stopped", "stopped"),
]


async def make(tmp: Path, sb_state: str, c_state: str) -> Kit:
    kit = Kit(tmp)
    await kit.up(start=sb_state != "ready")
    await kit.container("c1")
    sb = kit.sandbox
    if c_state in ("running", "paused"):
        await sb.start_container("c1")
    if c_state == "paused":
        await sb.pause_container("c1")
    if c_state == "stopped":
        await sb.stop_container("c1")
    if sb_state == "stopped":
        await sb.stop()
    assert (sb.state, sb.containers["c1"].state) == (sb_state, c_state)
    return kit


def expected(op: str, s: str, c: str) -> str | None:
    """Go's precondition verdicts, written from reference §1.5 (not from the code)."""
    not_running = f"Sandbox not running, impossible to {op} the container"
    rules: dict[str, list[tuple[bool, str]]] = {
        "start": [
            (s != "running", not_running),
            (c not in ("ready", "stopped"), "Container not ready or stopped, impossible to start"),
        ],
        "delete": [
            (c not in ("ready", "stopped"), "Container not ready or stopped, impossible to delete")
        ],
        "enter": [
            (s != "running", not_running),
            (c not in ("ready", "running"), "Container not ready or running, impossible to enter"),
        ],
        "wait": [
            (s != "running", "Sandbox not running"),
            (c not in ("ready", "running"), "Container not ready or running, impossible to wait"),
        ],
        "signal": [
            (
                s not in ("ready", "running"),
                "Sandbox not ready or running, impossible to signal the container",
            ),
            (
                c not in ("ready", "running", "paused"),
                "Container not ready, running or paused, impossible to signal the container",
            ),
        ],
        "pause": [
            (s != "running", not_running),
            (c != "running", "Container not running, impossible to pause"),
        ],
        "resume": [
            (s != "running", not_running),
            (c != "paused", "Container not paused, impossible to resume"),
        ],
        "update": [
            (s != "running", not_running),
            (
                c not in ("running", "ready"),
                f"container({c}) not running or ready, impossible to update",
            ),
        ],
        "stats": [(s != "running", not_running)],
        "winsize": [
            (s != "running", "Sandbox not running"),
            (
                c not in ("ready", "running"),
                "Container not ready or running, impossible to signal the container",
            ),
        ],
    }
    return next((text for failed, text in rules[op] if failed), None)


def call(kit: Kit, op: str) -> Any:
    sb = kit.sandbox
    return {
        "start": lambda: sb.start_container("c1"),
        "delete": lambda: sb.delete_container("c1"),
        "enter": lambda: sb.enter_container("c1", {"args": ["sh"]}),
        "wait": lambda: sb.wait_process("c1", "c1"),
        "signal": lambda: sb.kill_container("c1", signal.SIGTERM),
        "pause": lambda: sb.pause_container("c1"),
        "resume": lambda: sb.resume_container("c1"),
        "update": lambda: sb.update_container("c1", {"memory": {"limit": 1 << 20}}),
        "stats": lambda: sb.stats_container("c1"),
        "winsize": lambda: sb.winsize_process("c1", "c1", 24, 80),
    }[op]()


def disk(tmp: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(tmp.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("s", "c"), COMBOS)
@pytest.mark.parametrize(
    "op",
    ["start", "delete", "enter", "wait", "signal", "pause", "resume", "update", "stats", "winsize"],
)
async def test_preconditions_in_every_state(tmp_path: Path, op: str, s: str, c: str) -> None:
    kit = await make(tmp_path, s, c)
    want = expected(op, s, c)
    if want is None:
        if op == "wait":  # the sim's init process would otherwise never exit
            kit.agent.exit_process("c1", status=3)
        try:
            await call(kit, op)
        except E.PreconditionError as exc:  # pragma: no cover - the assertion reports it
            pytest.fail(f"{op} refused in ({s}, {c}): {exc}")
        except (AgentError, HypervisorError):
            pass  # past the preconditions; e.g. restarting a stopped container (see reference)
        return
    calls, files, events = list(kit.agent.calls), disk(tmp_path), kit.mark()
    with pytest.raises(E.EngineError) as info:
        await call(kit, op)
    assert str(info.value) == want
    assert kit.agent.calls == calls, "a refused op must not reach the agent"
    assert disk(tmp_path) == files, "a refused op must not write"
    assert kit.steps_since(events) == []


async def test_sigkill_never_fails_at_the_sandbox_level(tmp_path: Path) -> None:
    kit = await make(tmp_path, "stopped", "stopped")
    await kit.sandbox.kill_container("c1", signal.SIGKILL)  # refused by the container, nil anyway
    with pytest.raises(E.PreconditionError):
        await kit.sandbox.containers["c1"].kill(signal.SIGKILL)


async def test_esrch_is_swallowed_and_other_signal_errors_are_not(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1")
    kit.agent.exit_process("c1", status=0)  # the workload ended by itself
    await kit.sandbox.kill_container("c1", signal.SIGTERM)
    assert any("ESRCH" in e.text for e in kit.events if e.kind == "log")
    kit.agent.faults.fail("signal_process", AgentError("permission denied", "PERMISSION_DENIED"))
    with pytest.raises(AgentError, match="permission denied"):
        await kit.sandbox.kill_container("c1", signal.SIGTERM)


async def test_stop_runs_go_order(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    c = await kit.container("c1", 1)
    await kit.sandbox.start_container("c1")
    drive = kit.sandbox.devices.get_all_devices()[0].drive
    mark = kit.mark()
    await kit.sandbox.stop_container("c1")
    assert kit.steps_since(mark) == [
        'RPC SignalProcess{container_id="c1", exec_id="", signal=9}',
        'RPC WaitProcess{container_id="c1", exec_id="c1"}',
        'RPC RemoveContainer{container_id="c1", timeout=0}',
        "unshare mounts of c1",
        "unshare rootfs /run/kata-containers/shared/sandboxes/sb1/mounts/c1/rootfs",
        "RPC RemoveStaleVirtiofsShareMounts{}",
        f"unplug block {drive.id} (virtio-scsi 0:0) file={layer(1).host_path} ro",
    ]
    assert c.state == "stopped" and kit.sandbox.device_rows() == []
    mark = kit.mark()
    await kit.sandbox.stop_container("c1")  # idempotent
    assert kit.steps_since(mark) == []


async def test_force_stop_continues_past_every_failing_step(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1", 1)
    await kit.sandbox.start_container("c1")
    kit.agent.faults.fail("remove_container", AgentError("guest says no", "INTERNAL"))
    kit.fs_share.faults.fail("unshare_mounts", OSError("busy"))
    kit.fs_share.faults.fail("unshare_rootfs", OSError("busy"))
    kit.agent.faults.fail("remove_stale_virtiofs_share_mounts", AgentError("nope", "INTERNAL"))
    kit.hypervisor.faults.fail("hotplug_remove_block", HypervisorError("device_del timed out"))
    await kit.sandbox.stop_container("c1", force=True)
    assert kit.sandbox.containers["c1"].state == "stopped"
    ends = [e for e in kit.events if e.kind == "step.end" and e.error]
    assert [e.error for e in ends] == [
        "rpc error: code = Internal desc = guest says no",
        "busy",
        "busy",
        "rpc error: code = Internal desc = nope",
        "device_del timed out",
    ]
    warnings = [e.text for e in kit.events if e.kind == "log" and e.level == "warning"]
    assert len([w for w in warnings if w.startswith("force stop:")]) == 5
    assert kit.steps("c1")[-1].startswith("unplug block")  # reached the last step
    row = kit.row(layer(1).host_path)
    assert row is not None and row.attach_count == 1  # the unplug failed: still plugged, no ref
    assert row.refcount == 1


async def test_stop_without_force_returns_the_first_error(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1", 1)
    await kit.sandbox.start_container("c1")
    kit.agent.faults.fail("remove_container", AgentError("guest says no", "INTERNAL"))
    mark = kit.mark()
    with pytest.raises(AgentError, match=exact("rpc error: code = Internal desc = guest says no")):
        await kit.sandbox.stop_container("c1")
    assert kit.sandbox.containers["c1"].state == "running"
    assert kit.steps_since(mark)[-1] == 'RPC RemoveContainer{container_id="c1", timeout=0}'
    assert kit.row(layer(1).host_path).attach_count == 1


async def test_start_failure_is_rolled_back_by_force_stop(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1", 1)
    kit.agent.faults.fail("start_container", AgentError('exec: "/app": not found', "INTERNAL"))
    with pytest.raises(AgentError) as info:
        await kit.sandbox.start_container("c1")
    assert str(info.value) == 'rpc error: code = Internal desc = exec: "/app": not found'
    assert kit.sandbox.containers["c1"].state == "stopped"
    assert kit.sandbox.device_rows() == [] and kit.hypervisor.plugged == {}
    assert ("remove_container", {"container_id": "c1", "timeout": 0}) in kit.agent.calls


async def test_create_failure_rolls_back_devices_to_where_they_were(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1", 1, 2)  # shared layer 1 plugged and referenced once
    before = [r.to_dict() for r in kit.sandbox.device_rows()]
    indexes = set(kit.sandbox.block_index_map)
    kit.agent.faults.fail("create_container", AgentError("no space left", "RESOURCE_EXHAUSTED"))
    with pytest.raises(
        AgentError, match=exact("rpc error: code = ResourceExhausted desc = no space left")
    ):
        await kit.container("c2", 3, 1)
    assert [r.to_dict() for r in kit.sandbox.device_rows()] == before
    assert kit.sandbox.block_index_map == indexes
    assert "c2" not in kit.sandbox.containers
    assert len(kit.hypervisor.plugged) == 2
    assert not (tmp_path / "sb1" / "c2").exists()


async def test_hotplug_failure_midway_detaches_what_was_plugged(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    ok = {"n": 0}
    real = kit.hypervisor.hotplug_add_block

    async def second_fails(drive: Any) -> None:
        ok["n"] += 1
        if ok["n"] == 2:
            raise HypervisorError("Duplicate node name")
        await real(drive)

    kit.hypervisor.hotplug_add_block = second_fails  # type: ignore[method-assign]
    with pytest.raises(HypervisorError):
        await kit.container("c1", 1, 2)
    assert kit.sandbox.device_rows() == [] and kit.hypervisor.plugged == {}
    assert kit.sandbox.block_index_map == set()


async def test_erofs_layers_are_prepended_and_sent_as_storages(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    extra = DeviceInfo("/dev/sdz", "/dev/xvda", "b", 8, 240)
    c = await kit.container("c1", 2, 1, devices=[extra])
    paths = [kit.sandbox.devices.devices[d.id].host_path for d in c.devices]
    assert paths == [layer(2).host_path, layer(1).host_path, "/dev/sdz"]
    req = kit.agent.containers["c1"].request
    assert [s.driver for s in req.storages] == ["scsi", "scsi", "overlayfs"]
    assert [s.source for s in req.storages[:2]] == ["0:0", "0:1"]
    assert all(s.fstype == "erofs" and s.options == ["ro"] for s in req.storages[:2])
    mps = [s.mount_point for s in req.storages[:2]]
    assert mps == [
        "/run/kata-containers/virtual-volumes/MDow",
        "/run/kata-containers/virtual-volumes/MDox",
    ]
    overlay = req.storages[2]
    assert overlay.mount_point == "/run/kata-containers/c1/rootfs"
    assert overlay.options[0] == f"lowerdir={mps[0]}:{mps[1]}"
    assert [d.id for d in req.devices] == ["0:2"]  # only the non-layer device is an OCI device
    assert [d.container_path for d in c.devices][:2] == mps


async def test_rootfs_error_creates_nothing(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()

    def broken(rootfs: Any, host: Any) -> list[DeviceInfo]:
        raise RootfsError("erofs mount not found for /x/fs")

    kit.sandbox._erofs_devices = broken
    with pytest.raises(RootfsError, match=exact("erofs mount not found for /x/fs")):
        await kit.container("c1", 1)
    assert kit.sandbox.device_rows() == [] and kit.agent.containers == {}


async def test_cdrom_devices_stay_referenced_but_never_attached(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    cd = DeviceInfo("/dev/sr0", "/dev/sr0", "b", 11, 0)
    c = await kit.container("c1", devices=[cd])
    assert c.devices == []
    (row,) = kit.sandbox.device_rows()
    assert (row.host_path, row.refcount, row.attach_count) == ("/dev/sr0", 1, 0)
    assert any(e.text == "Not attach device because it is a CDROM" for e in kit.events)


async def test_create_container_deadline(tmp_path: Path) -> None:
    kit = Kit(tmp_path, create_container_timeout=0.01)
    await kit.up()
    kit.agent.faults.stall("create_container", 5.0)
    with pytest.raises(AgentError) as info:
        await kit.container("c1", 1)
    assert (str(info.value), info.value.code) == (
        "rpc error: code = DeadlineExceeded desc = CreateContainerRequest timed out",
        "DEADLINE_EXCEEDED",
    )
    assert kit.sandbox.device_rows() == []


async def test_delete_leaves_devices_as_go_does(tmp_path: Path) -> None:
    """Go's delete only unregisters: a ready container's devices stay plugged."""
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1", 1)
    await kit.sandbox.delete_container("c1")
    assert "c1" not in kit.sandbox.containers
    assert kit.row(layer(1).host_path).attach_count == 1


async def test_exec_and_wait_and_update(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1")
    await kit.sandbox.start_container("c1")
    exec_id = await kit.sandbox.enter_container("c1", {"args": ["ls"]})
    assert len(exec_id) == 36 and exec_id.count("-") == 4
    kit.agent.exit_process("c1", exec_id, status=7)
    assert await kit.sandbox.wait_process("c1", exec_id) == 7
    await kit.sandbox.update_container("c1", {"cpu": {"cpus": "0-3", "quota": 5000}})
    cfg = kit.sandbox.containers["c1"].config.resources
    assert cfg["cpu"] == {"quota": 5000, "cpus": "0-3"}
    stats = await kit.sandbox.stats_container("c1")
    assert set(stats) == {"cgroup_stats"}


async def test_annotations_are_checked(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    key = "io.katacontainers.container.resource.swappiness"
    with pytest.raises(
        E.PreconditionError,
        match=exact(
            f"Invalid container configuration Annotations {key} swapiness should not bigger than 200"
        ),
    ):
        await kit.sandbox.create_container(
            ContainerConfig("c1", overlay_rootfs("c1"), annotations={key: "300"})
        )
    with pytest.raises(E.PreconditionError) as info:
        await kit.sandbox.create_container(
            ContainerConfig("c1", overlay_rootfs("c1"), annotations={key: "x"})
        )
    assert str(info.value) == (
        f"Invalid container configuration Annotations {key} "
        'strconv.ParseUint: parsing "x": invalid syntax'
    )


async def test_failed_create_never_unplugs_a_layer_another_container_uses(tmp_path: Path) -> None:
    """Go's rollback detaches every device of the failed container, attached or not, which
    unplugs a shared layer under a running container; ours only undoes what it did."""
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1", 1)
    await kit.sandbox.start_container("c1")
    before = [r.to_dict() for r in kit.sandbox.device_rows()]
    real = kit.hypervisor.hotplug_add_block

    async def fail(drive: Any) -> None:
        raise HypervisorError("Duplicate node name")

    kit.hypervisor.hotplug_add_block = fail  # type: ignore[method-assign]
    with pytest.raises(HypervisorError):
        await kit.container("c2", 3, 1)  # layer 3 fails first: c2 never attached layer 1
    kit.hypervisor.hotplug_add_block = real  # type: ignore[method-assign]
    assert [r.to_dict() for r in kit.sandbox.device_rows()] == before
    assert len(kit.hypervisor.plugged) == 1 and kit.sandbox.containers["c1"].state == "running"


async def test_stop_without_force_reports_a_device_that_no_longer_exists(tmp_path: Path) -> None:
    """Go detachDevices ignores only ErrDeviceNotAttached at DetachDevice."""
    kit = Kit(tmp_path)
    await kit.up()
    c = await kit.container("c1", 1)
    await kit.sandbox.start_container("c1")
    dev_id = c.devices[0].id
    del kit.sandbox.devices.devices[dev_id]
    with pytest.raises(E.DeviceNotExist, match=exact(E.DEVICE_NOT_EXIST)):
        await kit.sandbox.stop_container("c1")


def _dm_host() -> Any:
    """A recorded host with one device-mapper block device, /dev/dm-3 (253:3)."""
    import os as _os

    from tests.hostdata import BLK, DIR, HostBuilder

    b = HostBuilder("")
    b.file("/dev/dm-3", mode=BLK, target="/dev/dm-3")
    b.data["calls"]["stat"]["/dev/dm-3"]["rdev"] = _os.makedev(253, 3)
    b.file("/sys/dev/block/253:3", mode=DIR)
    return b.host()


async def test_block_rootfs_is_hotplugged_then_unplugged(tmp_path: Path) -> None:
    kit = Kit(tmp_path, host=_dm_host())
    await kit.up()
    await kit.sandbox.create_container(ContainerConfig("c1", RootFs("/dev/dm-3", "ext4")))
    (row,) = [r.to_dict() for r in kit.sandbox.device_rows()]
    assert (row["host_path"], row["refcount"], row["attach_count"]) == ("/dev/dm-3", 1, 1)
    assert kit.sandbox.containers["c1"].fstype == "ext4"
    await kit.sandbox.stop_container("c1")
    assert kit.sandbox.device_rows() == []


async def test_a_failed_block_rootfs_attach_leaves_no_reference(tmp_path: Path) -> None:
    """Go leaks the NewDevice reference here (removeDrive skips a drive without fstype)."""
    kit = Kit(tmp_path, host=_dm_host())
    await kit.up()
    kit.hypervisor.faults.fail("hotplug_add_block", HypervisorError("device_add: bus full"))
    with pytest.raises(HypervisorError):
        await kit.sandbox.create_container(ContainerConfig("c1", RootFs("/dev/dm-3", "ext4")))
    assert kit.sandbox.device_rows() == [] and kit.sandbox.containers == {}


async def test_a_failed_first_save_of_a_container_leaves_no_directory(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    real, calls = kit.store.write_sandbox, {"n": 0}

    def full_once(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    kit.store.write_sandbox = full_once  # type: ignore[method-assign]
    with pytest.raises(Exception, match="No space left on device"):
        await kit.container("c1")
    await kit.sandbox.stop(force=True)  # the next save succeeds
    assert not (tmp_path / "sb1" / "c1").exists()
