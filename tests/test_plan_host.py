"""A plan's sandbox resolves EROFS layers on a host: the live kernel by default (read-only,
as `kata-console rootfs` reads it) or a recording. An EROFS rootfs is never created
without its layer devices: with no usable host the create fails with Kata's own text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kata_console.cli import main
from kata_console.engine.lifecycle.plan import PlanError, parse_plan
from tests.enginekit import Kit
from tests.kernellab import KernelLab

SNAP = "io.containerd.snapshotter.v1.erofs/snapshots"


def _plan(tmp: Path, sandbox: dict[str, object], lowers: list[Path], upper: Path) -> Path:
    options = [
        "lowerdir=" + ":".join(str(p) for p in lowers),
        f"upperdir={upper}/fs",
        f"workdir={upper}/work",
    ]
    doc = {
        "sandbox": {"id": "sb-live", "agent": "sim", "seed": 1, **sandbox},
        "ops": [
            {"op": "create_sandbox"},
            {"op": "start_sandbox"},
            {
                "op": "create_container",
                "id": "c1",
                "rootfs": {"type": "overlay", "options": options},
            },
        ],
    }
    path = tmp / "plan.json"
    path.write_text(json.dumps(doc))
    return path


def _play(capsys: pytest.CaptureFixture[str], plan: Path) -> tuple[int, dict]:
    code = main(["play", "--json", str(plan)])
    out = capsys.readouterr()
    assert out.err == ""
    return code, json.loads(out.out)


def test_host_defaults_to_live_and_is_checked() -> None:
    base = {"sandbox": {"id": "sb1"}, "ops": []}
    assert parse_plan(base).sandbox.host == "live"
    assert parse_plan({**base, "sandbox": {"id": "sb1", "host": "live"}}).sandbox.host == "live"
    with pytest.raises(PlanError, match='field "host" must be "live" or a recorded host file'):
        parse_plan({**base, "sandbox": {"id": "sb1", "host": ""}})


@pytest.mark.kernel
def test_a_plan_without_host_resolves_layers_on_the_live_kernel(
    lab: KernelLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Real erofs layers mounted the way containerd's snapshotter mounts them: one loop-backed,
    one file-backed. The plan names no host and no devices; the layers come from the kernel."""
    snaps = lab.path(SNAP)
    l1 = lab.mkfs(snaps / "1/layer.erofs", {"a": "base"})
    l2 = lab.mkfs(snaps / "2/layer.erofs", {"b": "top"})
    lab.mount_erofs(l1, snaps / "1/fs")
    lab.mount_erofs(lab.losetup(l2), snaps / "2/fs")
    plan = _plan(tmp_path, {}, [snaps / "2/fs", snaps / "1/fs"], snaps / "3")
    code, doc = _play(capsys, plan)
    assert code == 0, doc["results"]
    assert sorted(d["host_path"] for d in doc["devices"]) == sorted([str(l1), str(l2)])
    assert all(d["read_only"] and d["attach_count"] == 1 for d in doc["devices"])


@pytest.mark.kernel
def test_a_flattened_fsmeta_layer_on_the_live_kernel_is_refused_with_katas_text(
    lab: KernelLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snaps = lab.path(SNAP)
    meta = lab.mkfs(snaps / "4/fsmeta.erofs", {"a": "merged"})
    lab.mount_erofs(lab.losetup(meta), snaps / "4/fs")
    code, doc = _play(capsys, _plan(tmp_path, {}, [snaps / "4/fs"], snaps / "5"))
    assert code == 1
    failed = doc["results"][2]
    assert failed["error"] == f"unsupported mount source {meta} for {snaps / '4/fs'}"
    assert doc["devices"] == []


def test_an_erofs_layer_that_is_not_mounted_fails_the_create(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On this machine's own kernel (nothing mounted there): Kata's text, not a container
    created without its layers."""
    snaps = tmp_path / SNAP
    code, doc = _play(capsys, _plan(tmp_path, {"host": "live"}, [snaps / "7/fs"], snaps / "8"))
    assert code == 1
    assert doc["results"][2]["error"] == f"erofs mount not found for {snaps / '7/fs'}"
    assert doc["results"][2]["container_state"] is None and doc["devices"] == []


async def test_an_engine_sandbox_without_a_host_view_refuses_an_erofs_rootfs() -> None:
    """The engine API with no host view at all: Kata's text for a mount table it cannot
    read, never a container without its layers."""
    from kata_console.engine.lifecycle.container import ContainerConfig
    from kata_console.engine.lifecycle.sandbox import Sandbox, SandboxConfig
    from kata_console.engine.lifecycle.sim import SimAgent, SimHypervisor
    from tests.enginekit import erofs_rootfs

    sb = Sandbox(SandboxConfig("sb1"), agent=SimAgent(), hypervisor=SimHypervisor())
    await sb.create()
    await sb.start()
    with pytest.raises(Exception) as info:
        await sb.create_container(ContainerConfig("c1", erofs_rootfs(1)))
    assert str(info.value) == "open /proc/self/mountinfo: no such file or directory"
    assert "c1" not in sb.containers and sb.devices.get_all_devices() == []
    kit = Kit(None)  # an injected resolver (the engine tests' own) still works
    await kit.up()
    await kit.container("c1", 1)
    assert len(kit.sandbox.devices.get_all_devices()) == 1
