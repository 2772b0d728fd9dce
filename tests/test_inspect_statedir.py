"""Kata's state directories read as Kata reads them: Go-written files, files our engine
wrote, and broken ones (torn, not JSON, wrong types, a FIFO, a symlink, a hostile name),
each marking only its own sandbox or container."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from backends.host.inspectrec import SnapshotInspect
from backends.host.linux import LinuxHost
from kata_console.cli import main
from kata_console.engine.inspect.report import HostPorts, inspect_host
from kata_console.engine.inspect.statedir import StateRootMissing, read_state_dirs
from tests.conftest import REPO

GO_SBS = REPO / "fixtures" / "persist" / "go-sbs"
GO_SID = "go-erofs-1"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A vc root holding the Go-written sandbox and one the engine wrote through `play`."""
    vc = tmp_path / "vc"
    shutil.copytree(GO_SBS / GO_SID, vc / "sbs" / GO_SID)
    plan = REPO / "fixtures" / "plans" / "shared-erofs-layer.json"
    doc = json.loads(plan.read_text())
    doc["sandbox"]["host"] = str(REPO / "fixtures" / "hosts" / "demo.json")
    doc["ops"] = [o for o in doc["ops"] if o["op"] not in ("stop_container", "delete_container")]
    (tmp_path / "plan.json").write_text(json.dumps(doc))
    assert main(["play", str(tmp_path / "plan.json"), "--state-dir", str(vc / "sbs")]) == 0
    return vc


def _ports() -> HostPorts:
    empty = SnapshotInspect({})  # no processes, namespaces or shims on this machine
    return HostPorts(LinuxHost(), empty, empty, empty, empty)


def test_go_and_engine_written_sandboxes_are_read(root: Path) -> None:
    dirs, warnings = read_state_dirs(LinuxHost(), str(root), str(root / "no-kata"))
    assert warnings == []
    by_id = {d.sandbox_id: d for d in dirs}
    assert sorted(by_id) == ["demo-shared", GO_SID]
    go = by_id[GO_SID]
    assert go.errors == [] and go.doc is not None and sorted(go.containers) == ["app", GO_SID]
    assert go.doc["Network"]["NetworkID"].startswith("/var/run/netns/cni-")
    ours = by_id["demo-shared"]
    assert ours.errors == [] and sorted(ours.containers) == ["sidecar", "web"]


def test_a_broken_file_marks_only_its_own_sandbox_or_container(root: Path) -> None:
    sbs = root / "sbs"
    (sbs / "demo-shared" / "web" / "persist.json").write_text('{"State": "runn')  # torn
    (sbs / GO_SID / "persist.json").write_text('{"State": 7}')  # Go refuses the type
    os.mkfifo(sbs / GO_SID / "app" / "fifo")  # not read: only persist.json files are
    (sbs / "bad").mkdir()
    (sbs / "bad" / "persist.json").symlink_to("/etc/passwd")  # never followed
    (sbs / "..dots").mkdir()  # not a sandbox ID: never a path below the root
    (sbs / "empty").mkdir()
    (sbs / "empty" / "persist.json").write_text("")
    dirs, warnings = read_state_dirs(LinuxHost(), str(root), str(root / "no-kata"))
    by_id = {d.sandbox_id: d for d in dirs}
    assert warnings == [f"{sbs}/..dots: skipped: not a sandbox ID"]
    assert by_id["demo-shared"].errors[0].startswith(f"{sbs}/demo-shared/web/persist.json: ")
    assert sorted(by_id["demo-shared"].containers) == ["sidecar"]
    assert by_id[GO_SID].errors == [
        f"{sbs}/{GO_SID}/persist.json: json: cannot unmarshal number into Go struct field "
        "SandboxState.State of type string"
    ]
    assert sorted(by_id[GO_SID].containers) == ["app", GO_SID]  # its containers still read
    assert by_id["bad"].errors == [f"{sbs}/bad/persist.json: too many levels of symbolic links"]
    assert by_id["empty"].errors[0].startswith(f"{sbs}/empty/persist.json: empty")


def test_the_report_joins_state_devices_and_containers(root: Path) -> None:
    report = inspect_host(_ports(), vc_root=str(root), kata_root=str(root / "no-kata"))
    doc = report.to_dict()
    sandboxes = {s["id"]: s for s in doc["sandboxes"]}
    go = sandboxes[GO_SID]
    assert (go["state"], go["hypervisor"], go["runtime"]) == ("running", "qemu", "go")
    shared, own = go["devices"]
    assert (shared["refcount"], shared["attach_count"], shared["address"]) == (2, 2, "0:0")
    assert (own["refcount"], own["address"], own["index"]) == (1, "0:1", 1)
    assert shared["host"] is None  # this machine holds none of those layer files
    assert [c["id"] for c in go["containers"]] == [GO_SID, "app"]
    app = go["containers"][1]
    assert app["state"] == "running" and app["devices"] == [shared["id"]]
    assert app["chain"] is None and "mounted in the guest" in app["chain_note"]
    assert go["network"]["netns"].startswith("/var/run/netns/cni-")
    assert go["shim"]["socket"] == f"{root}/sbs/{GO_SID}/shim-monitor.sock"
    assert go["mount_table"] == "host" and go["errors"] == []


def test_a_missing_root_is_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(StateRootMissing):
        read_state_dirs(LinuxHost(), str(tmp_path / "nope"))
    assert main(["inspect", "--snapshot", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such recorded host file" in err[0]
