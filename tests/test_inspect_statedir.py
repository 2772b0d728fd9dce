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
        read_state_dirs(LinuxHost(), str(tmp_path / "nope"), str(tmp_path / "nope-rs"))
    assert main(["inspect", "--snapshot", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such recorded host file" in err[0]


def test_a_fifo_named_persist_json_is_an_error_not_a_hang(root: Path) -> None:
    """A FIFO opened for reading blocks until a writer comes: the read must not wait."""
    import threading

    fifo = root / "sbs" / "demo-shared" / "web" / "persist.json"
    fifo.unlink()
    os.mkfifo(fifo)
    out: list[object] = []
    reader = threading.Thread(
        target=lambda: out.append(read_state_dirs(LinuxHost(), str(root), str(root / "no")))
    )
    reader.start()
    reader.join(timeout=20)
    if reader.is_alive():  # unblock it (a writer opens), then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("reading a FIFO named persist.json blocked")
    dirs, _ = out[0]  # type: ignore[misc]
    shared = next(d for d in dirs if d.sandbox_id == "demo-shared")
    assert shared.errors == [f"{fifo}: not a regular file"]
    assert sorted(shared.containers) == ["sidecar"]


def test_roots_runtime_rs_only_a_file_and_a_symlinked_sandbox(tmp_path: Path) -> None:
    """A node running only runtime-rs has no vc root and is still a Kata node; a root that
    is a file is bad input; a symlink in a root is named, never followed."""
    rs = tmp_path / "run-kata"
    (rs / "sb-rs").mkdir(parents=True)
    (rs / "sb-rs" / "shim-monitor.sock").touch()
    (tmp_path / "elsewhere").mkdir()
    (rs / "sb-link").symlink_to(tmp_path / "elsewhere")
    dirs, warnings = read_state_dirs(LinuxHost(), str(tmp_path / "no-vc"), str(rs))
    assert [(d.sandbox_id, d.runtime) for d in dirs] == [("sb-rs", "rust")]
    assert warnings == [f"{rs}/sb-link: skipped: a symlink, not a sandbox directory"]
    (tmp_path / "a-file").write_text("")
    with pytest.raises(StateRootMissing) as missing:
        read_state_dirs(LinuxHost(), str(tmp_path / "a-file"), str(rs))
    assert str(missing.value) == f"{tmp_path}/a-file: not a directory"


def test_the_cli_says_a_missing_state_root_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vc, rs = tmp_path / "no-vc", tmp_path / "no-rs"
    code = main(["inspect", "--vc-root", str(vc), "--kata-root", str(rs), "--json"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].endswith(f"{vc}: no such directory (nor {rs})")
    assert not vc.exists() and not rs.exists()  # nothing created by reading


def test_a_recorded_pid_is_adopted_only_if_it_is_not_another_sandbox_s(root: Path) -> None:
    """persist.json records the hypervisor's pid (48207) and virtiofsd's (48213); after a
    reboot or a long uptime the pid may run anything. A process with no sandbox ID in its
    argv is adopted; one that names another sandbox is that sandbox's, not this one's."""
    procs = SnapshotInspect(
        {
            "processes": [
                {
                    "pid": 48207,
                    "name": "qemu-system-x86_64",
                    "role": "hypervisor",
                    "sandbox_id": None,
                },
                {
                    "pid": 48213,
                    "name": "virtiofsd",
                    "role": "virtiofsd",
                    "sandbox_id": "demo-shared",
                },
            ]
        }
    )
    empty = SnapshotInspect({})
    ports = HostPorts(LinuxHost(), procs, empty, empty, empty)
    report = inspect_host(ports, vc_root=str(root), kata_root=str(root / "no-kata")).to_dict()
    by_id = {s["id"]: s for s in report["sandboxes"]}
    assert [p["pid"] for p in by_id[GO_SID]["processes"]] == [48207]
    assert [p["pid"] for p in by_id["demo-shared"]["processes"]] == [48213]
