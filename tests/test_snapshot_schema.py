"""Recorded hosts (`--snapshot`, a plan's `host`, the demo) are checked whole when loaded.

A wrong type deep inside a recording used to surface as a traceback (or a silently wrong
answer) the moment the resolver asked that question; now loading names the file and the
field path, and the CLI exits 2 with that one line.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from backends.host.snapshot import FORMAT, RecordingHost, SnapshotError, SnapshotHost
from backends.host.snapshotcheck import SchemaError, validate_snapshot
from kata_console.engine.ports import FileStat, LoopStatus
from tests.robustkit import DEMO_HOST, refused

METHODS = ("read_text", "realpath", "listdir", "stat", "lstat", "statfs_type", "loop_status")
NODE_METHODS = (*METHODS, "read_bytes")
GOOD: dict[str, Any] = {
    "format": FORMAT,
    "description": "hand-written",
    "mountinfo": {"self": "22 1 0:21 / / rw - ext4 /dev/vda rw\n", "1234": ""},
    "calls": {
        "read_text": {"/sys/block/loop0/loop/backing_file": "/l.erofs\n", "/x": {"errno": 2}},
        "realpath": {"/a": "/b"},
        "listdir": {"/sys/block/dm-0/slaves": ["vda", "vdb"]},
        "stat": {"/dev/vda": {"mode": 25008, "dev": 5, "ino": 9, "rdev": 65024, "size": 0}},
        "lstat": {"/a": {"mode": 41471, "dev": 1, "ino": 2}},
        "statfs_type": {"/": 61267},
        "loop_status": {
            "loop0": {"device": 1, "inode": 2, "offset": 0, "flags": 5, "file_name": "/l"}
        },
    },
}


def changed(path: list[str | int], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(GOOD)
    node: Any = doc
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


def test_good_recordings_pass() -> None:
    validate_snapshot(GOOD, FORMAT, METHODS)
    validate_snapshot(json.loads(Path(DEMO_HOST).read_text()), FORMAT, METHODS)
    validate_snapshot({"format": FORMAT}, FORMAT, METHODS)  # a host that was never asked


class _Live:
    """A host whose answers are known, to record."""

    def read_mountinfo(self, pid: int | None = None) -> str:
        return "22 1 0:21 / / rw - ext4 /dev/vda rw\n"

    def stat(self, path: str) -> FileStat:
        return FileStat(mode=0o60660, dev=5, ino=9, rdev=65024)

    def loop_status(self, name: str) -> LoopStatus:
        return LoopStatus(device=1, inode=2, offset=0, flags=5, file_name="/l.erofs")

    def read_text(self, path: str) -> str:
        raise FileNotFoundError(2, "No such file or directory", path)


def test_what_the_recorder_writes_loads_back(tmp_path: Path) -> None:
    rec = RecordingHost(_Live(), description="test")  # type: ignore[arg-type]
    rec.read_mountinfo()
    rec.stat("/dev/vda")
    rec.loop_status("loop0")
    with pytest.raises(OSError):
        rec.read_text("/nope")
    rec.save(tmp_path / "rec.json")
    host = SnapshotHost.load(tmp_path / "rec.json")
    assert host.stat("/dev/vda").rdev == 65024
    assert host.loop_status("loop0").file_name == "/l.erofs"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["format"], "kata-console-host/2", 'format: must be "kata-console-host/1"'),
        (["format"], KeyError, "format: must be"),
        (["description"], 5, "description: must be a string"),
        (["mountinfo"], ["x"], "mountinfo: must be an object"),
        (["mountinfo", "self"], 5, "mountinfo.self: must be a string"),
        (["mountinfo", "pid1"], "", 'mountinfo.pid1: a key is "self" or a process id'),
        (["calls"], [], "calls: must be an object"),
        (["calls", "readlink"], {}, "calls.readlink: unknown call (known: read_text"),
        (["calls", "stat"], [], "calls.stat: must be an object"),
        (["calls", "read_text", "/x"], 5, 'calls.read_text["/x"]: must be a string'),
        (["calls", "read_text", "/x"], None, 'calls.read_text["/x"]: must be a string'),
        (["calls", "realpath", "/a"], ["/b"], 'calls.realpath["/a"]: must be a string'),
        (["calls", "listdir", "/sys/block/dm-0/slaves"], "vda", "must be a list of strings"),
        (["calls", "listdir", "/sys/block/dm-0/slaves", 1], 7, 'slaves"][1]: must be a string'),
        (["calls", "stat", "/dev/vda", "mode"], "x", '["/dev/vda"].mode: must be an integer'),
        (["calls", "stat", "/dev/vda", "mode"], True, '["/dev/vda"].mode: must be an integer'),
        (["calls", "stat", "/dev/vda", "ino"], 1.5, '["/dev/vda"].ino: must be an integer'),
        (["calls", "stat", "/dev/vda", "dev"], -1, '["/dev/vda"].dev: must be from 0 to'),
        (["calls", "stat", "/dev/vda", "rdev"], 2**64, '["/dev/vda"].rdev: must be from 0 to'),
        (["calls", "stat", "/dev/vda", "ino"], KeyError, '["/dev/vda"]: missing field "ino"'),
        (["calls", "stat", "/dev/vda", "uid"], 0, '["/dev/vda"]: unknown field "uid"'),
        (["calls", "lstat", "/a"], "x", 'calls.lstat["/a"]: must be an object'),
        (["calls", "statfs_type", "/"], "erofs", 'calls.statfs_type["/"]: must be an integer'),
        (["calls", "loop_status", "loop0", "file_name"], 3, "loop0.file_name: must be a string"),
        (["calls", "loop_status", "loop0", "offset"], KeyError, 'missing field "offset"'),
        (["calls", "read_text", "/x", "errno"], "ENOENT", '"/x"].errno: must be an errno'),
        (["calls", "read_text", "/x", "errno"], 10**30, '"/x"].errno: must be an errno'),
        (["calls", "read_text", "/x", "extra"], 1, 'only the fields "errno" and "strerror"'),
        (["calls", "read_text", "/x", "strerror"], 5, '"/x"].strerror: must be a string'),
        (["mountinfo", "1234"], {"errno": 0}, 'mountinfo["1234"].errno: must be an errno'),
    ],
)
def test_each_wrong_field_is_named_with_its_path(
    path: list[str | int], value: Any, message: str
) -> None:
    with pytest.raises(SchemaError) as caught:
        validate_snapshot(changed(path, value), FORMAT, METHODS)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


NODE = json.loads((Path(DEMO_HOST).parent / "demo-node.json").read_text())
SOCK = "/run/vc/sbs/sb-batch/shim-monitor.sock"


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (["vc_root"], 1, "inspect.vc_root: must be a string"),
        (["host", "cpus"], "4", "inspect.host.cpus: must be an integer"),
        (["host", "uptime"], float("nan"), "inspect.host.uptime: must be a finite number"),
        (["host", "load"], [0.1, "x"], "inspect.host.load: must be a list of numbers"),
        (["processes"], {"pid": 1}, "inspect.processes: must be a list"),
        (["processes", 0, "pid"], KeyError, "inspect.processes[0].pid: missing"),
        (["processes", 0, "pid"], 2**64, "inspect.processes[0].pid: must be an integer"),
        (["processes", 0, "sandbox_id"], 3, "sandbox_id: must be a string or null"),
        (["processes", 0, "create_time"], float("inf"), "create_time: must be a finite number"),
        (["processes", 0, "cmdline"], "shim", "cmdline: must be a list of strings"),
        (["processes", 0, "children"], [1, True], "children: must be a list of integers"),
        (["netns", "@first", "links"], {"a": 1}, ".links: must be a list"),
        (["netns", "@first", "links", 0, "index"], None, "links[0].index: must be an integer"),
        (["netns", "@first", "links", 0, "stats"], {"rx": 1.5}, "an object of integers"),
        (["netns", "@first", "netns"], KeyError, ".netns: missing"),
        (["shim", SOCK, "agent_url", "reachable"], "yes", "reachable: must be true or false"),
        (["shim", SOCK, "metrics", "metrics", "shim_fds"], "42", "an object of finite numbers"),
        (["shim", SOCK, "stats"], {}, "unknown call (agent_url, metrics)"),
    ],
)
def test_each_wrong_inspect_fact_is_named(path: list[str | int], value: Any, message: str) -> None:
    """The facts a replayed inspection shows: a wrong type is refused at load, never a
    traceback (or a NaN uptime on screen) later."""
    doc = copy.deepcopy(NODE)
    node: Any = doc["inspect"]
    linked = next(k for k, v in node["netns"].items() if v["links"])
    keys = [linked if k == "@first" else k for k in path]
    for key in keys[:-1]:
        node = node[key]
    if value is KeyError:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    validate_snapshot(NODE, FORMAT, NODE_METHODS)
    with pytest.raises(SchemaError) as caught:
        validate_snapshot(doc, FORMAT, NODE_METHODS)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_not_an_object_at_all() -> None:
    for doc in ([], "x", 3, None):
        with pytest.raises(SchemaError, match="snapshot: must be an object"):
            validate_snapshot(doc, FORMAT, METHODS)


def test_load_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(changed(["calls", "stat", "/dev/vda", "mode"], "x")))
    with pytest.raises(SnapshotError, match=r"bad\.json: calls\.stat\[\"/dev/vda\"\]\.mode"):
        SnapshotHost.load(bad)
    with pytest.raises(FileNotFoundError):
        SnapshotHost.load(tmp_path / "missing.json")


@pytest.mark.parametrize("command", [["chains"], ["rootfs", "--type", "overlay"]])
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (json.dumps(changed(["calls", "stat", "/dev/vda", "mode"], "x")), ".mode: must be"),
        (json.dumps(changed(["mountinfo", "self"], 5)), "mountinfo.self: must be a string"),
        (json.dumps(changed(["calls"], [])), "calls: must be an object"),
        ("[1, 2]", "snapshot: must be an object"),
        (b"\xff\xfe{}", "not UTF-8"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ],
    ids=["stat-mode", "mountinfo-int", "calls-list", "not-object", "not-utf8", "deep"],
)
def test_cli_refuses_a_broken_recording_in_one_line(
    command: list[str], content: str | bytes, message: str, tmp_path: Path
) -> None:
    snap = tmp_path / "snap.json"
    if isinstance(content, bytes):
        snap.write_bytes(content)
    else:
        snap.write_text(content)
    line = refused(*command, "--snapshot", str(snap))
    assert str(snap) in line and message in line


def test_a_plan_host_recording_is_checked_too(tmp_path: Path) -> None:
    snap = tmp_path / "host.json"
    snap.write_text(json.dumps(changed(["calls", "statfs_type", "/"], "erofs")))
    plan = tmp_path / "plan.json"
    doc = {"sandbox": {"id": "sb1", "agent": "sim", "host": str(snap)}, "ops": []}
    plan.write_text(json.dumps(doc))
    line = refused("play", str(plan))
    assert f'{snap}: calls.statfs_type["/"]: must be an integer' in line
