"""Texts and rules as Kata's Go runtime (upstream main) has them, byte for byte.

Each expectation names the Go source it was read from. The `strconv.ParseUint` table was
produced by Go's own `strconv.ParseUint(s, 0, 64)` (printed with `%q`, `%v`, `int64(v)`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from kata_console.engine import errors as E
from kata_console.engine.deviceinfo import DeviceInfo
from kata_console.engine.gofmt import GoNumError, go_int64, go_quote, parse_uint
from kata_console.engine.ids import InvalidIdError, validate_id, verify_container_id
from kata_console.engine.lifecycle import devices as D
from kata_console.engine.lifecycle.container import ContainerConfig
from kata_console.engine.lifecycle.plan import PlanError, parse_plan
from kata_console.engine.lifecycle.sim import RPC_NAMES, SimAgent
from kata_console.engine.persist import store
from kata_console.engine.ports import (
    AgentError,
    CreateContainerRequest,
    CreateSandboxRequest,
    HypervisorError,
)
from tests.enginekit import Kit, exact, overlay_rootfs

SWAPPINESS = "io.katacontainers.container.resource.swappiness"
SWAP = "io.katacontainers.container.resource.swap_in_bytes"

# (input, value or None, Go's error text or int64(value)) from Go's strconv
GO_PARSE_UINT = [
    ("0", 0), ("00", 0), ("08", None), ("0x1F", 31), ("0X1f", 31), ("0b101", 5), ("0B1", 1),
    ("0o17", 15), ("0O17", 15), ("017", 15), ("1_000", 1000), ("0x_1f", 31), ("_1", None),
    ("1_", None), ("1__0", None), ("0_1", 1), ("+5", None), ("-5", None), ("", None),
    ("0x", None), ("0b", None), ("0o", None), ("18446744073709551615", 18446744073709551615),
    ("18446744073709551616", "range"), ("99999999999999999999x", "range"),
    ("0x10000000000000000", "range"), ("200", 200), ("abc", None), ("1 ", None), (" 1", None),
    ("0xg", None), ("é", None), ("0_x1", None), ("0x1_", None), ("0b_1", 1), ("1\n", None),
    ("\x00", None), ("0x_", None), ("0_", None), ("00_1", 1), ("0o_7", 7), ("1_2_3", 123),
    ("0B2", None), ("9223372036854775808", 9223372036854775808),
]  # fmt: skip


@pytest.mark.parametrize(("text", "want"), GO_PARSE_UINT)
def test_parse_uint_is_gos(text: str, want: int | str | None) -> None:
    if isinstance(want, int):
        assert parse_uint(text, 0, 64) == want
        return
    with pytest.raises(GoNumError) as info:
        parse_uint(text, 0, 64)
    reason = "value out of range" if want == "range" else "invalid syntax"
    assert str(info.value) == f"strconv.ParseUint: parsing {go_quote(text)}: {reason}"


def test_int64_of_a_uint64_wraps_as_go_does() -> None:
    assert [go_int64(v) for v in (0, 2**63 - 1, 2**63, 2**64 - 1)] == [0, 2**63 - 1, -(2**63), -1]


# ------------------------------------------------------------------ container.go newContainer
async def _create(kit: Kit, annotations: dict[str, str], cid: str = "c1") -> None:
    await kit.sandbox.create_container(ContainerConfig(cid, overlay_rootfs(cid), [], annotations))


@pytest.mark.parametrize(
    ("key", "value", "err"),
    [
        (SWAPPINESS, "", 'strconv.ParseUint: parsing "": invalid syntax'),
        (SWAPPINESS, "-1", 'strconv.ParseUint: parsing "-1": invalid syntax'),
        (SWAPPINESS, "+60", 'strconv.ParseUint: parsing "+60": invalid syntax'),
        (SWAPPINESS, "201", "swapiness should not bigger than 200"),
        (SWAPPINESS, "0xC9", "swapiness should not bigger than 200"),
        (SWAP, "18446744073709551616", 'strconv.ParseUint: parsing "18446744073709551616": '
         "value out of range"),
        (SWAP, "1_", 'strconv.ParseUint: parsing "1_": invalid syntax'),
        (SWAP, "1GB", 'strconv.ParseUint: parsing "1GB": invalid syntax'),
    ],
)  # fmt: skip
async def test_swap_annotations_are_refused_with_gos_text(
    tmp_path: Path, key: str, value: str, err: str
) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    calls = list(kit.agent.calls)
    with pytest.raises(E.PreconditionError) as info:
        await _create(kit, {key: value})
    assert str(info.value) == f"Invalid container configuration Annotations {key} {err}"
    assert kit.agent.calls == calls and kit.sandbox.device_rows() == []


async def test_swappiness_is_checked_before_swap_in_bytes(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    with pytest.raises(E.PreconditionError, match=f"Annotations {SWAPPINESS} "):
        await _create(kit, {SWAP: "x", SWAPPINESS: "x"})


async def test_swap_annotations_land_in_the_resources_as_go_stores_them(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    await _create(kit, {SWAPPINESS: "0o74", SWAP: "0x8000_0000_0000_0000"})
    await _create(kit, {SWAP: "1_073_741_824"}, "c2")
    await _create(kit, {}, "c3")
    containers = kit.sandbox.containers
    # memory.swappiness is a uint64, memory.swap Go's int64(uint64): 2**63 turns negative
    assert containers["c1"].config.resources == {"memory": {"swappiness": 60, "swap": -(2**63)}}
    assert containers["c2"].config.resources == {"memory": {"swap": 1 << 30}}
    assert containers["c3"].config.resources == {}
    # ... and reach the guest in the OCI spec, which shares them (initConfigResourcesMemory)
    oci = kit.agent.containers["c1"].request.oci  # type: ignore[union-attr]
    assert oci["linux"]["resources"]["memory"] == {"swappiness": 60, "swap": -(2**63)}
    assert "linux" not in kit.agent.containers["c3"].request.oci  # type: ignore[union-attr]


async def test_update_names_the_state_in_lower_case(tmp_path: Path) -> None:
    """container.go update: `container(%s)` since upstream a577685a (2026-02-13)."""
    kit = Kit(tmp_path)
    await kit.up()
    await kit.container("c1")
    await kit.sandbox.start_container("c1")
    await kit.sandbox.pause_container("c1")
    with pytest.raises(E.PreconditionError) as info:
        await kit.sandbox.update_container("c1", {"memory": {"limit": 1}})
    assert str(info.value) == "container(paused) not running or ready, impossible to update"


async def test_forced_stop_logs_gos_warning(tmp_path: Path) -> None:
    """container.go stop: Warn("invalid state transition to Stopped; continuing ...")."""
    kit = Kit(tmp_path)
    await kit.up()
    c = await kit.container("c1")
    c.state = ""  # no table row leads from "" to stopped
    kit.agent.exit_process("c1")  # the kill is refused in that state: let the wait return
    await kit.sandbox.stop_container("c1", force=True)
    logs = [(e.level, e.text) for e in kit.events if e.kind == "log"]
    assert (
        "warning",
        "invalid state transition to Stopped; continuing because force is set: "
        'Can not move from "" to stopped',
    ) in logs


# ------------------------------------------------------------------ sandbox.go
async def test_status_container_of_an_empty_id(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    with pytest.raises(E.NotFoundError, match=exact("Container ID cannot be empty")):
        kit.sandbox.status_container("")
    with pytest.raises(E.NotFoundError, match=exact("Container does not exist")):
        kit.sandbox.status_container("c9")


async def test_pmem_unplug_is_skipped_with_gos_info_line(tmp_path: Path) -> None:
    """sandbox.go HotplugRemoveDevice: Info "Skip device: cannot hot remove PMEM devices"."""
    kit = Kit(tmp_path)
    await kit.up()
    manager = kit.sandbox.devices
    dev = manager.new_device(DeviceInfo("/dev/pmem0", "/dev/pmem0", "b", 259, 0, pmem=True))
    await manager.attach_device(dev.id, kit.sandbox)
    await manager.detach_device(dev.id, kit.sandbox)
    logs = [(e.level, e.text, e.fields.get("path")) for e in kit.events if e.kind == "log"]
    assert ("info", "Skip device: cannot hot remove PMEM devices", "/dev/pmem0") in logs
    assert "hotplug_remove_block" not in [m for m, _ in kit.hypervisor.calls]


# ------------------------------------------------------------------ katautils VerifyContainerID
INVALID = 'invalid container/sandbox ID (should match "^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")'


@pytest.mark.parametrize(
    ("value", "text"),
    [("", "ID cannot be blank"), ("a", INVALID), ("../x", INVALID), ("a/b", INVALID),
     ("ab\n", INVALID), ("-ab", INVALID), ("ab", None), ("a" * 300, None)],
)  # fmt: skip
def test_verify_container_id_is_katautils(value: str, text: str | None) -> None:
    if text is None:
        assert verify_container_id(value) == value
        return
    with pytest.raises(InvalidIdError, match=exact(text)):
        verify_container_id(value)


def test_our_own_id_checks_come_after_katas_and_say_they_are_ours() -> None:
    with pytest.raises(InvalidIdError, match=exact(INVALID)):
        validate_id("container", "/" * 300)
    with pytest.raises(InvalidIdError) as info:
        validate_id("container", "a" * 300)
    assert "kata-console keeps IDs to 255" in str(info.value)
    assert "Kata itself has no limit" in str(info.value)
    assert store.validate_id is validate_id  # still importable from its old home


async def test_the_sandbox_and_its_containers_are_checked_with_katas_text(tmp_path: Path) -> None:
    kit = Kit(tmp_path)
    await kit.up()
    with pytest.raises(InvalidIdError, match=exact(INVALID)):
        await kit.sandbox.create_container(ContainerConfig("x"))
    with pytest.raises(E.PreconditionError, match=exact("Invalid container configuration")):
        await kit.sandbox.create_container(ContainerConfig(""))  # vc's own valid() check
    with pytest.raises(InvalidIdError, match=exact("ID cannot be blank")):
        Kit(tmp_path, sid="")


# ------------------------------------------------------------------ utils.go, drivers
def test_index_texts_and_bounds() -> None:
    with pytest.raises(E.DeviceError, match=exact("Index cannot be negative")):
        D.scsi_address(-1)
    with pytest.raises(E.DeviceError, match=exact("Index cannot be negative for drive")):
        D.virt_drive_name(-1)
    assert D.scsi_address(65535) == "255:255"
    with pytest.raises(E.DeviceError, match=exact("Index cannot be greater than 65535, maximum "
                                                  "of 65535 devices are supported")):  # fmt: skip
        D.scsi_address(65536)
    assert D.INT_MAX == 2**64 - 1  # drivers/utils.go intMax = ^uint(0) on 64-bit


def test_refcount_saturates_at_gos_int_max() -> None:
    manager = D.DeviceManager()
    dev = manager.new_device(DeviceInfo("/l.erofs", "/l.erofs"))
    dev.refcount = 2**32 - 1  # the old (wrong) bound is not a ceiling
    manager.new_device(DeviceInfo("/l.erofs", "/l.erofs"))
    assert dev.refcount == 2**32
    dev.refcount = 2**64 - 1
    manager.new_device(DeviceInfo("/l.erofs", "/l.erofs"))
    assert dev.refcount == 2**64 - 1


# ------------------------------------------------------------------ katautils config.go
@pytest.mark.parametrize("driver", [*E.SUPPORTED_BLOCK_DRIVERS, ""])
def test_plans_take_the_block_drivers_gos_loader_takes(driver: str) -> None:
    plan = parse_plan({"sandbox": {"id": "sb1", "block_device_driver": driver}, "ops": []})
    assert plan.sandbox.block_device_driver == (driver or "virtio-scsi")


@pytest.mark.parametrize("driver", ["virtio-foo", "VIRTIO-SCSI", "scsi", " virtio-blk"])
def test_plans_refuse_other_block_drivers_with_gos_text(driver: str) -> None:
    with pytest.raises(PlanError) as info:
        parse_plan({"sandbox": {"id": "sb1", "block_device_driver": driver}, "ops": []})
    assert str(info.value) == (
        f"sandbox: Invalid hypervisor block storage driver {driver} specified "
        "(supported drivers: [virtio-scsi virtio-blk virtio-mmio nvdimm virtio-blk-ccw])"
    )


# ------------------------------------------------------------------ kata_agent.go (sim side)
async def _stalled(agent: SimAgent, method: str) -> AgentError:
    agent.faults.stall(method, 5.0)
    args: dict[str, object] = {
        "create_sandbox": (CreateSandboxRequest("sb1"),),
        "create_container": (CreateContainerRequest("c1", "c1"),),
        "exec_process": ("c1", "e1", {}),
        "signal_process": ("c1", "c1", 9),
        "wait_process": ("c1", "c1"),
        "update_container": ("c1", {}),
        "tty_win_resize": ("c1", "c1", 1, 1),
        "read_stdout": ("c1", "c1", 1),
        "remove_container": ("c1",),
    }
    call = getattr(agent, method)(*args.get(method, ("c1",) if "container" in method else ()))
    with pytest.raises(AgentError) as info:
        await asyncio.wait_for(call, 1.0)
    return info.value


@pytest.mark.parametrize(
    "method", [m for m in RPC_NAMES if m not in ("wait_process", "read_stdout")]
)
async def test_sim_deadlines_read_as_kata_agent_rewrites_them(method: str) -> None:
    agent = SimAgent(create_container_timeout=0.01, request_timeout=0.01, check_timeout=0.01)
    err = await _stalled(agent, method)
    irregular = {
        "get_guest_details": "GuestDetailsRequest request timed out",
        "remove_stale_virtiofs_share_mounts": "removeStaleVirtiofsShareMounts timed out",
    }
    desc = irregular.get(method, f"{RPC_NAMES[method]}Request timed out")
    assert (str(err), err.code) == (f"rpc error: code = DeadlineExceeded desc = {desc}",
                                    "DEADLINE_EXCEEDED")  # fmt: skip


@pytest.mark.parametrize("method", ["wait_process", "read_stdout"])
async def test_sim_waits_and_reads_have_no_deadline(method: str) -> None:
    agent = SimAgent(request_timeout=0.01)
    with pytest.raises(TimeoutError):  # still waiting after 0.1 s: no 0.01 s deadline
        await asyncio.wait_for(_stalled(agent, method), 0.1)


async def test_sim_refusals_checks_and_a_dead_agent_read_as_go_prints_them() -> None:
    agent = SimAgent()  # the same texts as the spawned agent's (test_go_texts_agent.py)
    with pytest.raises(AgentError, match=exact("rpc error: code = FailedPrecondition desc = "
                                               "sandbox not created")):  # fmt: skip
        await agent.create_container(CreateContainerRequest("c1", "c1"))
    await agent.create_sandbox(CreateSandboxRequest("sb1"))
    with pytest.raises(AgentError, match=exact("rpc error: code = NotFound desc = "
                                               "container c9 not found")):  # fmt: skip
        await agent.start_container("c9")
    agent.faults.fail("check", AgentError("guest hung", "UNAVAILABLE"))
    with pytest.raises(AgentError) as info:
        await agent.check()
    assert str(info.value) == (
        "Failed to Check if grpc server is working: rpc error: code = Unavailable desc = guest hung"
    )
    agent.mark_dead("failed to ping agent: ...")
    with pytest.raises(AgentError, match=exact("Dead agent")):
        await agent.start_container("c1")
    with pytest.raises(
        AgentError, match=exact("Failed to Check if grpc server is working: Dead agent")
    ):
        await agent.check()


# ------------------------------------------------------------------ monitor.go (sim ports)
async def test_a_hypervisor_ping_failure_also_marks_the_agent_dead(tmp_path: Path) -> None:
    """Go's notify marks the agent dead whatever failed; the same tick then pings it."""
    kit = Kit(tmp_path)
    await kit.up()
    watcher = kit.sandbox.monitor(0.01)
    kit.hypervisor.faults.fail("check", HypervisorError("qmp: no answer"))
    first = await asyncio.wait_for(watcher.get(), 2)
    second = await asyncio.wait_for(watcher.get(), 2)
    await kit.sandbox.stop_monitor()
    assert first == "failed to ping hypervisor process: qmp: no answer"
    assert second == ("failed to ping agent: Failed to Check if grpc server is working: Dead agent")
    assert kit.agent.dead_reason == first
