"""A recording keeps each distinct mount table once: shims in the host's mount namespace
read the same table as the host, and a node's 200 copies of a 2,000-line table would not fit
in a recording. The replay answers every pid with its own table as before."""

from __future__ import annotations

import os

import pytest

from backends.host.linux import LinuxHost
from backends.host.snapshot import FORMAT, RecordingHost, SnapshotHost
from backends.host.snapshotcheck import SchemaError, validate_snapshot


def test_a_shared_table_is_stored_once_and_replayed_per_pid() -> None:
    rec = RecordingHost(LinuxHost())
    pid = os.getpid()
    for _ in range(3):  # a mount made between two reads would make them differ
        host, mine = rec.read_mountinfo(None), rec.read_mountinfo(pid)
        if host == mine:
            break
    else:
        pytest.skip("the mount table kept changing under the test")
    data = rec.snapshot()
    assert data["mountinfo"] == {"self": host, str(pid): {"same_as": "self"}}
    validate_snapshot(data, FORMAT, tuple(data["calls"]))
    replay = SnapshotHost(data)
    assert replay.read_mountinfo(pid) == replay.read_mountinfo(None) == host


def test_same_as_must_name_a_recorded_table() -> None:
    data = {"format": FORMAT, "mountinfo": {"7": {"same_as": "self"}}}
    with pytest.raises(SchemaError, match=r"mountinfo\[\"7\"\]\.same_as: must name a recorded"):
        validate_snapshot(data, FORMAT, ())
