"""`kata-console doctor` as a user runs it: the JSON contract, --severity and the exit codes,
the human output grouped by sandbox, bad input as one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kata_console.cli import main
from tests.conftest import REPO

NODE = str(REPO / "fixtures" / "hosts" / "demo-node.json")
#: recorded by scripts/record-doctor-node from real loops, mounts, processes and namespaces
BROKEN = str(REPO / "fixtures" / "hosts" / "doctor-node.json")
SNAP = "/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots"


def _broken(tmp_path: Path) -> str:
    """The demo node with the redirect into sb-web's tap gone."""
    doc = json.loads(Path(NODE).read_text())
    for ns, facts in doc["inspect"]["netns"].items():
        if "3f1e2d4c" in ns:  # sb-web's namespace
            facts["redirects"] = [r for r in facts["redirects"] if r["dst"] != "tap0_kata"]
    out = tmp_path / "broken.json"
    out.write_text(json.dumps(doc))
    return str(out)


def test_the_healthy_demo_node_has_no_findings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--json", "--snapshot", NODE]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["findings"] == []
    assert doc["checked"]["sandboxes"] == 3 and doc["checked"]["processes"] == 5
    assert doc["checked"]["host_facts"] is False  # recorded before doctor's host facts


def test_json_contract_and_severity_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snap = _broken(tmp_path)
    assert main(["doctor", "--json", "--snapshot", snap]) == 1
    doc = json.loads(capsys.readouterr().out)
    (f,) = doc["findings"]
    assert list(f) == [
        "id", "severity", "sandbox", "container", "device", "title", "evidence", "kata_error",
        "fix",
    ]  # fmt: skip
    assert (f["id"], f["sandbox"], f["severity"]) == ("tap-without-redirect", "sb-web", "error")
    assert doc["checked"]["findings"] == {"error": 1, "warning": 0, "info": 0}
    assert main(["doctor", "--json", "--snapshot", snap, "--severity", "error"]) == 1
    capsys.readouterr()


def test_human_output_groups_by_sandbox_without_colour_when_piped(tmp_path: Path) -> None:
    snap = _broken(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "kata_console", "doctor", "--snapshot", snap],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert out.returncode == 1 and out.stderr == ""
    lines = out.stdout.splitlines()
    assert lines[0].startswith("doctor: 1 finding(s)  error 1  warning 0  info 0")
    assert "sandbox sb-web" in lines
    assert any(line.startswith("  ERROR   tap-without-redirect  tap tap0_kata") for line in lines)
    assert any(line.startswith("    fix:  recreate the pod") for line in lines)
    assert "\x1b[" not in out.stdout


@pytest.mark.parametrize(
    "args, text",
    [
        (["--severity", "fatal"], "argument --severity: must be one of error, warning, info"),
        (["--snapshot", "/nonexistent.json"], "/nonexistent.json"),
        (["--vc-root", "/nonexistent-vc", "--kata-root", "/nonexistent-k"], "no such directory"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    args: list[str], text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["doctor", *args]) == 2
    err = capsys.readouterr().err
    assert text in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_recording_with_a_wrong_doctor_fact_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(Path(NODE).read_text())
    doc["inspect"]["doctor"] = {"loops": [{"name": 5, "backing_file": "/x/layer.erofs"}]}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert main(["doctor", "--snapshot", str(bad)]) == 2
    assert "inspect.doctor.loops[0].name: must be a string" in capsys.readouterr().err


def test_a_recorded_broken_node_gives_each_of_its_problems_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["doctor", "--json", "--snapshot", BROKEN]) == 1
    doc = json.loads(capsys.readouterr().out)
    got = sorted((f["id"], f["sandbox"], f["device"]) for f in doc["findings"])
    assert got == sorted(
        [
            ("layer-backing-file-gone", None, "/dev/loop2"),
            ("leftover-erofs-mount", None, None),
            ("orphan-loop", None, "/dev/loop3"),
            ("erofs-rootfs-refused", None, "/dev/loop4"),
            ("shim-socket-unreachable", "sb-batch", None),
            ("tap-without-redirect", "sb-batch", "tap0_kata"),
            ("shim-without-sandbox", "sb-gone", None),
            ("persist-unreadable", "sb-torn", None),
            ("leftover-cgroup", "sb-old", None),
        ]
    )  # healthy sb-web, its layers and sb-batch's shared ones: nothing
    by_id = {f["id"]: f for f in doc["findings"]}
    assert by_id["erofs-rootfs-refused"]["kata_error"] == (
        f"unsupported mount source {SNAP}/4/fsmeta.erofs for {SNAP}/4/fs"
    )
    assert by_id["leftover-erofs-mount"]["fix"] == f"umount {SNAP}/12/fs"
    assert [f["severity"] for f in doc["findings"]][:5] == ["error"] * 5  # worst first
    assert main(["doctor", "--json", "--snapshot", BROKEN, "--severity", "error"]) == 1
    errors = json.loads(capsys.readouterr().out)["findings"]
    assert {f["severity"] for f in errors} == {"error"} and len(errors) == 5
