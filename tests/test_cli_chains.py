"""`kata-console chains` and `rootfs` as a user runs them: output shape and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

DEMO = str(REPO / "fixtures/hosts/demo.json")
SNAP = "/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots"


def cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kata_console", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_chains_json_contract_on_the_recorded_demo_host() -> None:
    proc = cli("chains", "--json", "--snapshot", DEMO)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert set(out) >= {"chains", "erofs_mounts", "warnings"}
    chain = next(c for c in out["chains"] if c["target"].endswith("/k8s.io/web/rootfs"))
    assert set(chain) >= {"target", "source", "fstype", "mount_id", "layers"}
    layer = chain["layers"][0]
    assert set(layer) >= {
        "role",
        "index",
        "path",
        "fstype",
        "source",
        "majmin",
        "device",
        "backing_file",
        "snapshot",
        "status",
        "reason",
        "kata_error",
    }
    assert set(layer["device"]) >= {
        "kind",
        "name",
        "backing_file",
        "deleted",
        "offset",
        "autoclear",
        "ro",
    }
    assert (layer["role"], layer["device"]["kind"], layer["status"]) == ("lower", "loop", "ok")
    assert layer["snapshot"] == {"id": "2", "role": "layer.erofs"}
    deleted = next(e for e in out["erofs_mounts"] if e["target"] == f"{SNAP}/6/fs")
    assert deleted["status"] == "deleted" and deleted["device"]["deleted"] is True
    assert deleted["backing_file"] == f"{SNAP}/6/layer.erofs"


def test_chains_path_filter_and_strict() -> None:
    proc = cli("chains", "--json", "--snapshot", DEMO, f"{SNAP}/6/fs")
    out = json.loads(proc.stdout)
    assert out["chains"] == [] and [e["target"] for e in out["erofs_mounts"]] == [f"{SNAP}/6/fs"]
    assert cli("chains", "--snapshot", DEMO, "--strict").returncode == 1
    assert cli("chains", "--snapshot", DEMO, "--strict", f"{SNAP}/2/fs").returncode == 0


def test_chains_human_output_is_a_tree() -> None:
    proc = cli("chains", "--snapshot", DEMO)
    assert proc.returncode == 0
    assert "overlay /run/containerd/io.containerd.runtime.v2.task/k8s.io/web/rootfs" in proc.stdout
    assert "[deleted]" in proc.stdout and "kata: accepted" in proc.stdout


def test_malformed_mountinfo_lines_become_warnings(tmp_path: Path) -> None:
    table = tmp_path / "mountinfo"
    table.write_text(
        "1 0 254:0 / / rw - ext4 /dev/vda rw\nnot a mount line\n"
        "2 1 0:40 / /x/fs ro - erofs /x/layer.erofs ro\n"
    )
    proc = cli("chains", "--json", "--mountinfo", str(table))
    assert proc.returncode == 0
    out = json.loads(proc.stdout)
    assert any(w.startswith("line 2: malformed") for w in out["warnings"])
    assert [e["target"] for e in out["erofs_mounts"]] == ["/x/fs"]


@pytest.mark.parametrize(
    "args",
    [
        ("chains", "--mountinfo", "/nonexistent/mountinfo"),
        ("chains", "--snapshot", "/nonexistent.json"),
        ("chains", "--snapshot", DEMO, "/no/such/path"),
        ("chains", "--pid", "999999999"),
        ("chains", "--bogus"),
        ("rootfs", "--option", "lowerdir=/a"),
        ("nonsense",),
    ],
)
def test_bad_usage_exits_2_with_one_line(args: tuple[str, ...]) -> None:
    proc = cli(*args)
    assert proc.returncode == 2
    if args[0] != "rootfs":  # argparse prints usage + error for a missing required option
        one_line_error(proc)
    assert "Traceback" not in proc.stderr


def test_not_a_mount_table_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "x"
    bad.write_text("this is not a mount table at all\n")
    assert cli("chains", "--mountinfo", str(bad)).returncode == 2


def test_rootfs_verdicts_and_exit_codes() -> None:
    ok = cli(
        "rootfs",
        "--snapshot",
        DEMO,
        "--type",
        "overlay",
        "--json",
        "--option",
        f"lowerdir={SNAP}/2/fs:{SNAP}/1/fs",
    )
    assert ok.returncode == 0
    out = json.loads(ok.stdout)
    assert out["erofs"] is True and out["error"] is None
    assert [d["host_path"] for d in out["devices"]] == [
        f"{SNAP}/2/layer.erofs",
        f"{SNAP}/1/layer.erofs",
    ]
    assert all(d["read_only"] and d["major"] == -1 and d["dev_type"] == "b" for d in out["devices"])
    bad = cli(
        "rootfs",
        "--snapshot",
        DEMO,
        "--type",
        "overlay",
        "--json",
        "--option",
        f"lowerdir={SNAP}/4/fs:{SNAP}/1/fs",
    )
    assert bad.returncode == 1
    assert json.loads(bad.stdout) == {
        "erofs": True,
        "devices": [],
        "error": f"unsupported mount source {SNAP}/4/fsmeta.erofs for {SNAP}/4/fs",
    }
    human = cli(
        "rootfs", "--snapshot", DEMO, "--type", "overlay", "--option", f"lowerdir={SNAP}/6/fs"
    )
    assert human.returncode == 1
    assert one_line_error(human).endswith(
        f"unsupported mount source {SNAP}/6/layer.erofs (deleted) for {SNAP}/6/fs"
    )


def test_record_then_replay_gives_the_same_report(tmp_path: Path) -> None:
    rec = tmp_path / "host.json"
    live = cli("chains", "--json", "--record", str(rec))
    assert live.returncode == 0, live.stderr
    replay = cli("chains", "--json", "--snapshot", str(rec))
    assert replay.returncode == 0
    assert json.loads(replay.stdout) == json.loads(live.stdout)


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["chains", "--json", "--snapshot", DEMO],
        ["rootfs", "--snapshot", DEMO, "--type", "overlay", "--option", "lowerdir=/x"],
        ["play", "--json", str(REPO / "fixtures/plans/basic.json")],
        ["play", "--help"],
        ["agent", "--help"],
    ],
)
def test_headless_commands_do_not_import_textual(argv: list[str]) -> None:
    """Only the console imports textual; grpc only where an agent is really spoken to."""
    probe = (
        "import sys, contextlib, io\n"
        "from kata_console.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    try:\n"
        f"        main({argv!r})\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'grpc'}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    loaded = out.stdout.strip()
    assert "textual" not in loaded
    if argv[0] in ("--help", "chains", "rootfs"):
        assert loaded == "[]"


def test_relative_and_dotdot_paths_resolve_against_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "x/fs").mkdir(parents=True)
    (tmp_path / "y").mkdir()
    table = tmp_path / "mountinfo"
    table.write_text(
        f"2 1 0:40 / {tmp_path}/x/fs ro - erofs {tmp_path}/x/layer.erofs ro\n"
        f"3 1 0:41 / {tmp_path}/z/fs ro - erofs {tmp_path}/z/layer.erofs ro\n"
    )
    for path, cwd in (("fs", tmp_path / "x"), ("../x/fs", tmp_path / "y"), ("x/fs/.", tmp_path)):
        proc = cli("chains", "--json", "--mountinfo", str(table), path, cwd=cwd)
        assert proc.returncode == 0, proc.stderr
        targets = [e["target"] for e in json.loads(proc.stdout)["erofs_mounts"]]
        assert targets == [f"{tmp_path}/x/fs"], (path, cwd)
    missing = cli("chains", "--mountinfo", str(table), "nope", cwd=tmp_path)
    assert missing.returncode == 2
    assert one_line_error(missing).endswith("nope: no such path on the inspected host")


def test_snapshot_and_mountinfo_together_are_refused(tmp_path: Path) -> None:
    table = tmp_path / "mountinfo"
    table.write_text("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n")
    proc = cli("chains", "--snapshot", DEMO, "--mountinfo", str(table))
    assert proc.returncode == 2 and proc.stdout == ""
    assert "two different hosts" in one_line_error(proc)
    rootfs = cli("rootfs", "--snapshot", DEMO, "--mountinfo", str(table), "--type", "overlay")
    assert rootfs.returncode == 2 and "two different hosts" in one_line_error(rootfs)


def test_mountinfo_file_with_carriage_return_and_invalid_utf8(tmp_path: Path) -> None:
    """The file is read as bytes: a \r inside a path does not end the line."""
    table = tmp_path / "mountinfo"
    table.write_bytes(
        b"2 1 0:40 / /x/cr\rlf/fs ro - erofs /x/cr\rlf/layer.erofs ro\n"
        b"3 1 0:41 / /x/\xff\xfe/fs ro - erofs /x/\xff\xfe/layer.erofs ro\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "kata_console", "chains", "--json", "--mountinfo", str(table)],
        cwd=REPO,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.decode("utf-8", "surrogateescape"))
    assert [e["target"] for e in out["erofs_mounts"]] == [
        "/x/cr\rlf/fs",
        b"/x/\xff\xfe/fs".decode("utf-8", "surrogateescape"),
    ]
    assert not any("malformed" in w for w in out["warnings"])


def test_proc_mounts_input_has_no_ids_and_says_so(tmp_path: Path) -> None:
    table = tmp_path / "mounts"
    table.write_text(
        f"{SNAP}/1/layer.erofs {SNAP}/1/fs erofs ro,relatime 0 0\n"
        f"overlay /run/c/rootfs overlay rw,lowerdir={SNAP}/1/fs,upperdir=/u/fs,workdir=/u/w 0 0\n"
    )
    proc = cli("chains", "--json", "--mountinfo", str(table))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    (chain,) = out["chains"]
    (em,) = out["erofs_mounts"]
    assert chain["mount_id"] is None and em["mount_id"] is None and em["majmin"] is None
    assert chain["layers"][0]["majmin"] is None and "mount_id" not in chain["layers"][0]
    assert "no mount ids and no MAJ:MIN" in out["warnings"][0]
    text = cli("chains", "--mountinfo", str(table))
    assert text.returncode == 0
    assert "None" not in text.stdout
    assert "no mount id" in text.stdout and "no MAJ:MIN in /proc/mounts" in text.stdout
    assert "warning: the mount table is in /proc/mounts format" in text.stdout
