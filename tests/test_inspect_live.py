"""`inspect` and `record` on a live host built for the test: a Kata state directory (the
Go-written sample, pointed at the test's resources), stand-in Kata processes with Kata's
argv (tests/kataprocs.py), a real network namespace wired like Kata's tcfilter model
(tests/netlab.py) and a test double of the shim's management socket (tests/shimdouble.py).
Then the recording made of it replays to the same JSON, elsewhere."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from kata_console.cli import main
from tests import kataprocs
from tests.conftest import REPO
from tests.netlab import NetLab, netlab_skip_reason
from tests.shimdouble import ShimDouble

GO_SID = "go-erofs-1"


@pytest.fixture
def node(tmp_path: Path) -> Iterator[dict[str, object]]:
    """A vc root with the Go sandbox whose processes, netns and shim socket are real."""
    reason = netlab_skip_reason()
    if reason:
        pytest.skip(reason)
    (tmp_path / "bin").mkdir()
    pause = kataprocs.build_pause(tmp_path / "bin")
    if pause is None:
        pytest.skip("no C compiler for the Kata process stand-ins")
    bindir = tmp_path / "kata-bin"
    shim_bin = kataprocs.install(pause, bindir, "containerd-shim-kata-v2")
    qemu_bin = kataprocs.install(pause, bindir, "qemu-system-x86_64")
    vc = tmp_path / "vc"
    sdir = vc / "sbs" / GO_SID
    shutil.copytree(REPO / "fixtures" / "persist" / "go-sbs" / GO_SID, sdir)
    os.chmod(sdir, 0o700)
    lab = NetLab()
    tree = None
    shim = None
    try:
        doc = json.loads((sdir / "persist.json").read_text())
        doc["Network"]["NetworkID"] = lab.sandbox_path
        (sdir / "persist.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")
        shim = ShimDouble(str(sdir / "shim-monitor.sock")).start()
        qemu = [str(qemu_bin), "-name", f"sandbox-{GO_SID}", "-uuid", "5d3c2b1a"]
        tree = kataprocs.FakeTree(
            [str(shim_bin), *kataprocs.SHIM_ARGV, GO_SID], [qemu], specdir=tmp_path
        )
        yield {"vc": vc, "lab": lab, "tree": tree, "shim": shim, "tmp": tmp_path}
    finally:
        if tree is not None:
            tree.close()
        if shim is not None:
            shim.stop()
        lab.close()


def _inspect(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    code = main(["inspect", "--json", *args])
    out = capsys.readouterr()
    assert code == 0 and out.err == ""
    return json.loads(out.out)


@pytest.mark.kernel
def test_inspect_joins_state_processes_network_and_shim(
    node: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    lab: NetLab = node["lab"]  # type: ignore[assignment]
    assert lab.udp_echo(10) == 10  # traffic through the veth, both redirects and the tap
    doc = _inspect(capsys, "--vc-root", str(node["vc"]))
    (sb,) = doc["sandboxes"]
    assert sb["id"] == GO_SID and sb["state"] == "running" and sb["errors"] == []
    roles = {p["role"]: p for p in sb["processes"]}
    tree = node["tree"]
    assert roles["shim"]["pid"] == tree.shim.pid  # type: ignore[attr-defined]
    assert roles["vmm"]["name"] == "qemu-system-x86_64"
    assert roles["vmm"]["ppid"] == tree.shim.pid  # type: ignore[attr-defined]
    assert sb["mount_table"] == f"/proc/{tree.shim.pid}/mountinfo"  # type: ignore[attr-defined]
    links = {link["name"]: link for link in sb["network"]["links"]}
    assert links["eth0"]["kind"] == "veth" and links["tap0_kata"]["kind"] == "tun"
    assert links["eth0"]["stats"]["rx_packets"] >= 10
    pairs = {(r["src"], r["dst"]) for r in sb["network"]["redirects"]}
    assert pairs == {("eth0", "tap0_kata"), ("tap0_kata", "eth0")}
    assert sb["shim"]["reachable"] and sb["shim"]["agent_url"].startswith("vsock://")
    assert {m for m, _ in node["shim"].requests} == {"GET"}  # type: ignore[attr-defined]
    assert doc["host"]["hostname"] and doc["host"]["cpus"] >= 1


@pytest.mark.kernel
def test_a_recording_replays_to_the_same_report(
    node: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    out = Path(node["tmp"]) / "node.json"  # type: ignore[arg-type]
    assert main(["record", "--out", str(out), "--vc-root", str(node["vc"])]) == 0
    capsys.readouterr()
    live = _inspect(capsys, "--vc-root", str(node["vc"]))
    replay = _inspect(capsys, "--snapshot", str(out))
    for doc in (live, replay):  # what moves between two reads of a live host
        doc["host"].pop("uptime")
        doc["host"].pop("load")
        doc["host"].pop("mem_available")
        for sb in doc["sandboxes"]:
            for p in sb["processes"]:
                p.pop("cpu_percent")
            for link in sb["network"]["links"]:
                link.pop("stats")
            for r in sb["network"]["redirects"]:
                for k in ("packets", "bytes", "overlimits"):
                    r.pop(k, None)
    assert replay == live
    assert replay["sandboxes"][0]["processes"]  # the recording kept the processes


@pytest.mark.kernel
def test_a_dead_shim_and_a_deleted_namespace_are_statuses(
    node: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    node["shim"].stop()  # type: ignore[attr-defined]
    lab: NetLab = node["lab"]  # type: ignore[assignment]
    netns = lab.sandbox_path
    node["tree"].close()  # type: ignore[attr-defined]
    lab.close()
    doc = _inspect(capsys, "--vc-root", str(node["vc"]))
    (sb,) = doc["sandboxes"]
    assert sb["processes"] == []
    assert sb["shim"]["reachable"] is False
    assert sb["shim"]["error"].startswith("shim unreachable: ")
    assert sb["network"]["error"] == f"missing: {netns}"
    assert not Path(netns).exists()  # reported, never created
    assert sb["mount_table"] == "host"


@pytest.mark.kernel
def test_the_replay_is_exactly_the_run_that_recorded_it(node: dict) -> None:
    """Not a second live run: the report the recording run itself gave, key for key."""
    from kata_console.engine.inspect.report import inspect_host
    from kata_console.inspection import open_inspection

    vc, kata = str(node["vc"]), str(Path(node["tmp"]) / "no-kata")  # type: ignore[arg-type]
    live = open_inspection(record=True)
    try:
        live.ports.processes.scan()  # a first CPU sample, so cpu_percent is a number
        recorded = inspect_host(live.ports, vc_root=vc, kata_root=kata, metrics=True)
        out = Path(node["tmp"]) / "exact.json"  # type: ignore[arg-type]
        live.save(out, vc, kata)
    finally:
        live.close()
    replay = open_inspection(str(out))
    assert replay.recorded_roots == (vc, kata)
    again = inspect_host(replay.ports, vc_root=vc, kata_root=kata, metrics=True)
    assert again.to_dict() == recorded.to_dict()
    (sb,) = again.sandboxes
    assert sb.shim is not None and sb.shim.metrics and sb.processes[0].cpu_percent is not None
