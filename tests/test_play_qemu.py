"""`play` on a real QEMU: a plan's `"hypervisor"` (`auto` by default), the device table with
each device's guest address, every VM stopped at the end unless `--keep`. Every QEMU a
test leaves running on purpose is killed by pid in a finalizer."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from kata_console.cli import main
from kata_console.wiring import resolve_hypervisor
from tests.kernellab import KernelLab
from tests.qemukit import needs_qemu

PLANS = Path(__file__).resolve().parents[1] / "fixtures" / "plans"
SNAP = "io.containerd.snapshotter.v1.erofs/snapshots"


def _plan(tmp: Path, lowers: list[Path], upper: Path, **sandbox: object) -> Path:
    doc = {
        "sandbox": {"id": "sb-qemu", "agent": "sim", "seed": 1, **sandbox},
        "ops": [
            {"op": "create_sandbox"},
            {"op": "start_sandbox"},
            {
                "op": "create_container",
                "id": "c1",
                "rootfs": {
                    "type": "overlay",
                    "options": [
                        "lowerdir=" + ":".join(str(p) for p in lowers),
                        f"upperdir={upper}/fs",
                        f"workdir={upper}/work",
                    ],
                },
            },
        ],
    }
    path = tmp / "plan.json"
    path.write_text(json.dumps(doc))
    return path


def _layers(lab: KernelLab, n: int) -> list[Path]:
    snaps = lab.path(SNAP)
    for i in range(1, n + 1):
        image = lab.mkfs(snaps / f"{i}/layer.erofs", {f"f{i}": str(i)})
        lab.mount_erofs(image, snaps / f"{i}/fs")
    return [snaps / f"{i}/fs" for i in range(n, 0, -1)]


def _alive(pid: int) -> bool:
    try:
        return b"sandbox-sb-qemu" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


@needs_qemu
@pytest.mark.kernel
def test_auto_plays_on_qemu_and_stops_the_vm_at_the_end(
    lab: KernelLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _plan(tmp_path, _layers(lab, 2), lab.path(f"{SNAP}/9"))
    assert main(["play", "--json", str(plan)]) == 0
    doc = json.loads(capsys.readouterr().out)
    vm = doc["hypervisor"]
    assert (vm["type"], vm["running"], vm["kept"], vm["note"]) == ("qemu", True, False, None)
    assert vm["version"].split(".")[0].isdigit() and vm["qmp_socket"].endswith("/qmp.sock")
    assert sorted(d["address"] for d in doc["devices"]) == ["0:0", "0:1"]
    assert not _alive(vm["pid"])  # stopped when play ended


@needs_qemu
@pytest.mark.kernel
def test_keep_leaves_the_vm_and_says_how_to_find_and_stop_it(
    lab: KernelLab, tmp_path: Path, capsys: pytest.CaptureFixture[str], reaper: list[int]
) -> None:
    plan = _plan(tmp_path, _layers(lab, 1), lab.path(f"{SNAP}/9"), hypervisor="qemu")
    state = tmp_path / "state"
    assert main(["play", str(plan), "--state-dir", str(state), "--keep"]) == 0
    out = capsys.readouterr().out
    kept = re.search(r"^VM kept: QEMU \S+ .*pid (\d+), QMP (\S+)$", out, re.M)
    assert kept is not None, out
    pid, sock = int(kept.group(1)), Path(kept.group(2))
    reaper.append(pid)
    assert _alive(pid) and sock.is_socket()
    assert sock == state / ".vm" / "sb-qemu" / "qmp.sock"
    assert f"kill {pid}" in out
    os.kill(pid, signal.SIGTERM)  # the way the output says to stop it


def test_keep_without_a_state_dir_is_bad_usage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _plan(tmp_path, [tmp_path / "l"], tmp_path / "u", hypervisor="sim")
    assert main(["play", str(plan), "--keep"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "kata-console play: error: --keep needs --state-dir: a temporary one is removed at exit"
    ]


def test_an_unknown_hypervisor_is_refused_when_the_plan_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _plan(tmp_path, [tmp_path / "l"], tmp_path / "u", hypervisor="kvmtool")
    assert main(["play", str(plan)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith('sandbox: unknown hypervisor "kvmtool": one of "auto", "qemu", "sim"')


def test_auto_falls_back_to_the_simulator_with_a_visible_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no qemu-system-x86_64 on it
    kind, note = resolve_hypervisor("auto")
    assert kind == "sim" and note.startswith("no qemu-system-x86_64 on this machine")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"sandbox": {"id": "sb1", "agent": "sim"}, "ops": []}))
    assert main(["play", str(plan)]) == 0
    assert capsys.readouterr().err == f"kata-console play: note: {note}\n"
    assert main(["play", "--json", str(plan)]) == 0
    assert json.loads(capsys.readouterr().out)["hypervisor"]["note"] == note


@needs_qemu
def test_a_recorded_hosts_layers_are_attached_as_stand_ins_and_shown_as_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The recorded demo node's layer files are not on this machine: QEMU is handed a real
    EROFS stand-in for each, the engine keeps (and shows) the recorded path, and the
    stand-ins go with the VM."""
    doc = json.loads((PLANS / "shared-erofs-layer-recorded-host.json").read_text())
    doc["sandbox"].update(hypervisor="qemu", block_device_driver="virtio-scsi")
    doc["sandbox"]["host"] = str(PLANS.parent / "hosts" / "demo.json")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(doc))
    state = tmp_path / "state"
    assert main(["play", "--json", "--events", str(plan), "--state-dir", str(state)]) == 1
    out = json.loads(capsys.readouterr().out)
    oks = {(r["op"], r.get("id")): r["ok"] for r in out["results"]}
    assert oks[("create_container", "web")] and oks[("create_container", "api")]
    assert not oks[("create_container", "meta")]  # refused by Kata's rules, as on the sim
    recorded = sorted(d["host_path"] for d in out["devices"])
    assert len(recorded) == 2 and all(p.startswith("/var/lib/containerd/") for p in recorded)
    run_dir = state / ".vm" / "demo-recorded"
    opened = [
        json.loads(e["text"].removeprefix("QMP blockdev-add "))["file"]["filename"]
        for e in out["events"]
        if e["kind"] == "step.begin" and e["text"].startswith("QMP blockdev-add ")
    ]
    assert len(opened) == 2 and all(f.startswith(f"{run_dir}/layers/") for f in opened)
    assert not (run_dir / "layers").exists()  # removed when play stopped the VM


@pytest.mark.parametrize("with_mkfs", [True, False])
def test_a_stand_in_is_a_whole_image_made_once_per_recorded_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_mkfs: bool
) -> None:
    from backends.hypervisor.standins import BLANK_SIZE, StandInLayers

    if with_mkfs and shutil.which("mkfs.erofs") is None:
        pytest.skip("mkfs.erofs is not installed (make test installs erofs-utils as root)")
    if not with_mkfs:
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    layers = StandInLayers(tmp_path / "layers")
    recorded = "/var/lib/containerd/snapshots/1/layer.erofs"
    here = Path(recorded)
    first = Path(layers.file_for(recorded))
    assert first != here and first.parent == tmp_path / "layers"
    assert layers.file_for(recorded) == str(first)  # made once
    assert layers.file_for(recorded.replace("/1/", "/2/")) != str(first)
    assert (tmp_path / "layers").stat().st_mode & 0o777 == 0o700
    data = first.read_bytes()
    if with_mkfs:
        assert data[1024:1028] == b"\xe2\xe1\xf5\xe0"  # the EROFS superblock magic
    else:
        assert data == bytes(BLANK_SIZE)
    assert not list((tmp_path / "layers").glob("*.tmp"))
    layers.remove()
    assert not (tmp_path / "layers").exists()
