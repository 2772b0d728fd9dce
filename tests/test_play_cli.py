"""`kata-console play`: output shape, exit codes, bad plans, and the shipped example plans."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kata_console.cli import main
from tests.conftest import REPO

PLANS = REPO / "fixtures" / "plans"
RESULT_KEYS = {"op", "id", "ok", "error", "sandbox_state", "container_state"}
DEVICE_KEYS = {
    "id",
    "host_path",
    "kind",
    "refcount",
    "attach_count",
    "index",
    "address",
    "read_only",
}


def play(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["play", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def play_json(
    capsys: pytest.CaptureFixture[str], plan: Path, *extra: str
) -> tuple[int, dict[str, Any]]:
    code, out, err = play(capsys, str(plan), "--json", *extra)
    assert err == ""
    return code, json.loads(out)


def write(tmp: Path, doc: Any) -> Path:
    path = tmp / "plan.json"
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return path


def test_shared_layer_plan_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = play_json(capsys, PLANS / "shared-erofs-layer.json")
    assert code == 0 and set(doc) == {"results", "devices", "hypervisor"}
    assert all(set(r) == RESULT_KEYS and r["ok"] and r["error"] is None for r in doc["results"])
    assert [r["op"] for r in doc["results"]][:3] == [
        "create_sandbox",
        "start_sandbox",
        "create_container",
    ]
    assert doc["results"][-1] == {
        "op": "delete_container",
        "id": "web",
        "ok": True,
        "error": None,
        "sandbox_state": "running",
        "container_state": None,
    }
    assert all(set(d) == DEVICE_KEYS for d in doc["devices"])
    shared = next(d for d in doc["devices"] if d["host_path"].endswith("/snapshots/1/layer.erofs"))
    assert (shared["refcount"], shared["attach_count"], shared["read_only"]) == (1, 1, True)
    assert not any(d["host_path"].endswith("/snapshots/2/layer.erofs") for d in doc["devices"])


def test_recorded_host_plan_resolves_layers_and_fails_like_kata(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, doc = play_json(capsys, PLANS / "shared-erofs-layer-recorded-host.json")
    assert code == 1
    failed = [r for r in doc["results"] if not r["ok"]]
    snaps = "/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots"
    assert [r["error"] for r in failed] == [
        f"unsupported mount source {snaps}/4/fsmeta.erofs for {snaps}/4/fs"
    ]
    by_path = {d["host_path"]: d for d in doc["devices"]}
    assert by_path[f"{snaps}/1/layer.erofs"]["refcount"] == 2
    assert by_path[f"{snaps}/2/layer.erofs"]["address"] == "02/01"
    assert len(by_path) == 2  # the failed container's layers were rolled back


def test_precondition_walkthrough(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = play_json(capsys, PLANS / "preconditions.json")
    assert code == 1
    errors = [r["error"] for r in doc["results"] if not r["ok"]]
    assert errors[:4] == [
        'Can not move from "" to running',
        'Can not move from "" to stopped',
        'Could not find the container "c1" from the sandbox "demo-preconditions" '
        "containers list: Container does not exist",
        "Container ID cannot be empty",
    ]
    for text in (
        "Duplicated container: c1",
        "Invalid container configuration",
        "Invalid container configuration Annotations "
        "io.katacontainers.container.resource.swappiness swapiness should not bigger than 200",
        "Sandbox not running, impossible to start the container",
        "Sandbox not running, impossible to pause the container",
        "Sandbox not running, impossible to enter the container",
        "Sandbox not running, impossible to stats the container",
        "Sandbox not running, impossible to update the container",
        "Can not move from running to running",
        "Container not paused, impossible to resume",
        "Container not ready or stopped, impossible to start",
        "Container not ready or stopped, impossible to delete",
        "Sandbox not ready, paused or stopped, impossible to delete",
        "Container not running, impossible to pause",
        "Container not ready or running, impossible to enter",
        "container(paused) not running or ready, impossible to update",
        "Container not ready, running or paused, impossible to signal the container",
        "Sandbox not ready or running, impossible to signal the container",
    ):
        assert text in errors, text
    assert doc["results"][-1]["error"] == 'Can not move from "" to running'


def test_human_output_is_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = play(capsys, str(PLANS / "faults.json"))
    assert code == 1 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["#", "OP", "ID", "RESULT", "SANDBOX", "CONTAINER", "ERROR"]
    assert "12 ops, 2 failed" in lines
    assert any(line.split()[:2] == ["DEVICE", "KIND"] for line in lines)
    assert (
        "FAILED  running  stopped    rpc error: code = Internal desc = "
        'exec: "/app": stat /app: no such file or directory'
    ) in out


def test_events_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = play_json(capsys, PLANS / "basic.json", "--events")
    assert code == 0
    begins = [e["text"] for e in doc["events"] if e["kind"] == "step.begin"]
    assert 'RPC StartContainer{container_id="web"}' in begins
    code, out, _ = play(capsys, str(PLANS / "basic.json"), "--events")
    assert '  > RPC StartContainer{container_id="web"}' in out


def test_state_dir_keeps_persist_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _ = play_json(capsys, PLANS / "shared-erofs-layer.json", "--state-dir", str(tmp_path))
    assert code == 0
    doc = json.loads((tmp_path / "demo-shared" / "persist.json").read_text())
    assert (
        doc["State"] == "running"
        and (tmp_path / "demo-shared" / "sidecar" / "persist.json").is_file()
    )
    assert not (tmp_path / "demo-shared" / "web").exists()


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (
            {"sandbox": {"id": "sb1"}, "ops": [{"op": "create_sandbox"}, {"op": "explode"}]},
            'ops[1]: unknown op "explode"',
        ),
        (
            {"sandbox": {"id": "sb1"}, "ops": [{"op": "start_container"}]},
            'ops[0] (start_container): missing field "id"',
        ),
        (
            {"sandbox": {"id": "sb1"}, "ops": [{"op": "start_container", "id": "../x"}]},
            'ops[0] (start_container): invalid container/sandbox ID (should match "^[a-zA-Z0-9]'
            '[a-zA-Z0-9_.-]+$")',
        ),
        (
            {"sandbox": {"id": "a/b"}, "ops": []},
            'sandbox: invalid container/sandbox ID (should match "^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")',
        ),
        (
            {"sandbox": {"id": "sb1", "block_device_driver": "virtio-foo"}, "ops": []},
            "sandbox: Invalid hypervisor block storage driver virtio-foo specified (supported "
            "drivers: [virtio-scsi virtio-blk virtio-mmio nvdimm virtio-blk-ccw])",
        ),
        (
            {"sandbox": {"id": "sb1"}, "ops": [{"op": "stop_sandbox", "force": "yes"}]},
            'ops[0] (stop_sandbox): field "force" must be a boolean',
        ),
        (
            {
                "sandbox": {"id": "sb1"},
                "ops": [{"op": "kill_container", "id": "c1", "signal": "SIGNOPE"}],
            },
            'unknown signal "SIGNOPE"',
        ),
        (
            {
                "sandbox": {"id": "sb1"},
                "ops": [{"op": "create_container", "id": "c1", "devices": [{"major": 8}]}],
            },
            'ops[0] (create_container) devices[0]: missing field "host_path"',
        ),
        (
            {
                "sandbox": {"id": "sb1"},
                "ops": [{"op": "inject_fault", "target": "agent", "method": "nope"}],
            },
            'agent has no method "nope"',
        ),
        ({"sandbox": {"id": "sb1", "agent": "tcp://x"}, "ops": []}, "unknown agent 'tcp://x'"),
        (
            {"sandbox": {"id": "sb1", "agent_faults": ["Nope=crash"]}, "ops": []},
            "agent fault: ",
        ),
        (
            {"sandbox": {"id": "sb1", "host": "missing.json"}, "ops": []},
            "missing.json: no such recorded host file",
        ),
        ("{not json", "not JSON: Expecting property name"),
        ({"ops": []}, "sandbox: missing or not an object"),
    ],
)
def test_bad_plans_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, doc: Any, message: str
) -> None:
    code, out, err = play(capsys, str(write(tmp_path, doc)))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("kata-console play: error: ") and message in err


def test_missing_plan_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = play(capsys, str(tmp_path / "nope.json"))
    assert code == 2 and "no such plan file" in err


def test_whole_process_no_traceback(tmp_path: Path) -> None:
    plan = write(
        tmp_path,
        {
            "sandbox": {"id": "sb1"},
            "ops": [{"op": "create_sandbox"}, {"op": "start_container", "id": "c1"}],
        },
    )
    proc = subprocess.run(
        [sys.executable, "-m", "kata_console", "play", str(plan), "--json"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["results"][1]["error"].startswith(
        'Could not find the container "c1"'
    )
