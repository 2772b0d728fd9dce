"""`doctor` on a live host built for each test: real loops and erofs mounts (tests/kernellab.py),
stand-in Kata processes with Kata's argv (tests/kataprocs.py), a real network namespace wired
like Kata's tcfilter model (tests/netlab.py), real unix sockets and a real cgroup directory.
Each test breaks one thing the way it breaks on a node and checks that doctor names it, with
the evidence it read; everything is torn down in finalizers. (Every rule the brief lists as
real here is here, plus the drop counters: a veth whose peer went down.) The host's own loops and
mounts may add findings of their own, so each test looks for the finding of what it made.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from kata_console.cli import main
from tests import kataprocs
from tests.conftest import REPO
from tests.kernellab import KernelLab
from tests.netlab import NetLab

GO_SID = "go-erofs-1"
SNAPSHOTS = "containerd/io.containerd.snapshotter.v1.erofs/snapshots"


def _doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["doctor", "--json", *args])
    out = capsys.readouterr()
    assert out.err == "" and code in (0, 1)
    return code, json.loads(out.out)


def _find(doc: dict, rule: str, **match: object) -> list[dict]:
    return [
        f for f in doc["findings"] if f["id"] == rule and all(f[k] == v for k, v in match.items())
    ]


@pytest.fixture
def vc(tmp_path: Path) -> Path:
    """An empty Go state root (doctor needs one to run at all)."""
    (tmp_path / "vc" / "sbs").mkdir(parents=True)
    return tmp_path / "vc"


def _sandbox(vc: Path, netns: str | None = None, sid: str = GO_SID) -> Path:
    """Kata's Go-written sample sandbox under `vc`, optionally in a real namespace."""
    sdir = vc / "sbs" / sid
    shutil.copytree(REPO / "fixtures" / "persist" / "go-sbs" / GO_SID, sdir)
    if netns is not None:
        doc = json.loads((sdir / "persist.json").read_text())
        doc["Network"]["NetworkID"] = netns
        (sdir / "persist.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    return sdir


def _procs(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "bin").mkdir(exist_ok=True)
    pause = kataprocs.build_pause(tmp_path / "bin")
    if pause is None:
        pytest.skip("no C compiler for the Kata process stand-ins")
    bindir = tmp_path / "kata-bin"
    shim = kataprocs.install(pause, bindir, "containerd-shim-kata-v2")
    qemu = kataprocs.install(pause, bindir, "qemu-system-x86_64")
    return shim, qemu


@pytest.mark.kernel
def test_a_deleted_backing_file_under_its_loop(
    lab: KernelLab, vc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = lab.mkfs(lab.path(f"{SNAPSHOTS}/2/layer.erofs"), {"a": "1"})
    loop = lab.losetup(image)
    lab.mount_erofs(loop, lab.path(f"{SNAPSHOTS}/2/fs"))
    image.unlink()
    code, doc = _doctor(capsys, "--vc-root", str(vc))
    (f,) = _find(doc, "layer-backing-file-gone", device=loop)
    assert code == 1 and f["severity"] == "error"
    assert any(str(image) in e and "(deleted)" in e for e in f["evidence"])
    assert any(str(lab.path(f"{SNAPSHOTS}/2/fs")) in e for e in f["evidence"])


@pytest.mark.kernel
def test_an_orphan_loop_holding_a_layer(
    lab: KernelLab, vc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = lab.mkfs(lab.path(f"{SNAPSHOTS}/5/layer.erofs"), {"a": "1"})
    loop = lab.losetup(image)
    _, doc = _doctor(capsys, "--vc-root", str(vc))
    (f,) = _find(doc, "orphan-loop", device=loop)
    assert f["fix"] == f"losetup -d {loop}"
    assert f"/sys/block/{loop.removeprefix('/dev/')}/loop/backing_file: {image}" in f["evidence"]
    lab.mount_erofs(loop, lab.path(f"{SNAPSHOTS}/5/fs"))  # now a mount uses it
    _, doc = _doctor(capsys, "--vc-root", str(vc))
    assert _find(doc, "orphan-loop", device=loop) == []


@pytest.mark.kernel
def test_a_leftover_erofs_mount_under_the_snapshotter_root(
    lab: KernelLab, vc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = lab.mkfs(lab.path(f"{SNAPSHOTS}/3/layer.erofs"), {"a": "1"})
    target = lab.mount_erofs(lab.losetup(image), lab.path(f"{SNAPSHOTS}/3/fs"))
    _, doc = _doctor(capsys, "--vc-root", str(vc))
    found = [f for f in doc["findings"] if f["id"] == "leftover-erofs-mount"]
    (f,) = [f for f in found if str(target) in f["title"]]
    assert f["fix"].startswith(f"umount {target}")
    # an overlay using it as a lower: no longer left over
    upper, work = lab.path("up"), lab.path("work")
    upper.mkdir()
    work.mkdir()
    lab.mount(
        "overlay",
        lab.path("rootfs"),
        "overlay",
        data=f"lowerdir={target},upperdir={upper},workdir={work}",
    )
    _, doc = _doctor(capsys, "--vc-root", str(vc))
    assert not [f for f in doc["findings"] if str(target) in f["title"]]


@pytest.mark.kernel
def test_a_shim_with_no_sandbox_directory(
    tmp_path: Path, vc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shim_bin, _ = _procs(tmp_path)
    sid = f"gone{secrets.token_hex(4)}"
    tree = kataprocs.FakeTree([str(shim_bin), *kataprocs.SHIM_ARGV, sid])
    try:
        code, doc = _doctor(capsys, "--vc-root", str(vc))
        (f,) = _find(doc, "shim-without-sandbox", sandbox=sid)
        assert code == 1 and f["evidence"][0].startswith(f"pid {tree.shim.pid} ")
        assert str(tree.shim.pid) in f["fix"]
    finally:
        tree.close()
    _, doc = _doctor(capsys, "--vc-root", str(vc))
    assert _find(doc, "shim-without-sandbox", sandbox=sid) == []


@pytest.mark.kernel
def test_a_torn_persist_json(vc: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root like the other live doctor tests")
    sdir = _sandbox(vc)
    data = (sdir / "persist.json").read_bytes()
    (sdir / "persist.json").write_bytes(data[: len(data) // 2])  # a save cut half-way
    _, doc = _doctor(capsys, "--vc-root", str(vc))
    (f,) = _find(doc, "persist-unreadable", sandbox=GO_SID)
    (evidence,) = f["evidence"]
    assert f["container"] is None and evidence.startswith(f"{sdir}/persist.json: ")
    assert (
        "Unterminated string" in evidence
        and f["title"] == "persist.json unreadable: " + evidence.split(": ", 1)[1]
    )


@pytest.mark.kernel
def test_a_tap_without_its_redirects(
    netlab: NetLab, vc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _sandbox(vc, netlab.sandbox_path)
    _, doc = _doctor(capsys, "--vc-root", str(vc))
    assert _find(doc, "tap-without-redirect") == []  # Kata's pair is there: nothing to say
    subprocess.run(
        ["tc", "-n", netlab.sandbox, "filter", "del", "dev", "eth0", "parent", "ffff:"], check=True
    )
    _, doc = _doctor(capsys, "--vc-root", str(vc))
    (f,) = _find(doc, "tap-without-redirect", sandbox=GO_SID, device="tap0_kata")
    assert "no redirect into tap0_kata" in f["title"]
    assert "tc ingress tap0_kata -> eth0" in f["evidence"][1]


@pytest.mark.kernel
def test_an_unreachable_shim_socket_while_the_shim_runs(
    tmp_path: Path, vc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shim_bin, qemu_bin = _procs(tmp_path)
    sdir = _sandbox(vc)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sdir / "shim-monitor.sock"))  # bound, never listening: refused
    qemu = [str(qemu_bin), "-name", f"sandbox-{GO_SID}"]
    tree = kataprocs.FakeTree(
        [str(shim_bin), *kataprocs.SHIM_ARGV, GO_SID], [qemu], specdir=tmp_path
    )
    try:
        _, doc = _doctor(capsys, "--vc-root", str(vc))
        (f,) = _find(doc, "shim-socket-unreachable", sandbox=GO_SID)
        assert f["evidence"][0].startswith(f"pid {tree.shim.pid} ")
        assert "refused" in f["evidence"][1]
        sock_path = sdir / "shim-monitor.sock"
        assert f["kata_error"] == (
            f'Get "http://shim/agent-url": dial unix {sock_path}: connect: connection refused'
        )
        assert _find(doc, "shim-missing", sandbox=GO_SID) == []
        assert _find(doc, "vm-without-shim", sandbox=GO_SID) == []
    finally:
        tree.close()
        sock.close()
    _, doc = _doctor(capsys, "--vc-root", str(vc))
    assert _find(doc, "shim-socket-unreachable", sandbox=GO_SID) == []  # no shim, no claim
    assert _find(doc, "shim-missing", sandbox=GO_SID)  # ... but a running sandbox without one


@pytest.mark.kernel
def test_a_leftover_cgroup_and_a_recording_that_replays_it(
    tmp_path: Path, vc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to make a cgroup")
    parent = Path("/sys/fs/cgroup/cpu")
    if not parent.is_dir():
        parent = Path("/sys/fs/cgroup")
    sid = f"doctor{secrets.token_hex(4)}"
    cg = parent / f"kata_{sid}"
    try:
        cg.mkdir()
    except OSError as exc:
        pytest.skip(f"cannot make a cgroup here: {exc.strerror}")
    try:
        _, live = _doctor(capsys, "--vc-root", str(vc))
        (f,) = _find(live, "leftover-cgroup", sandbox=sid)
        assert f["fix"] == f"cat {cg}/cgroup.procs (must be empty), then rmdir {cg}"
        out = tmp_path / "node.json"
        assert main(["record", "--out", str(out), "--vc-root", str(vc)]) == 0
        capsys.readouterr()
    finally:
        cg.rmdir()
    _, replay = _doctor(capsys, "--snapshot", str(out))
    assert _find(replay, "leftover-cgroup", sandbox=sid) == [f]  # the cgroup is gone by now
    assert replay["checked"]["host_facts"] is True and replay["checked"]["rules_skipped"] == []


@pytest.mark.kernel
def test_drops_growing_between_the_two_reads(
    netlab: NetLab, vc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The pod's veth loses its peer (the CNI side goes down): every frame the sandbox
    sends out of eth0 is dropped by the veth driver, and the counter moves between
    inspect's read and doctor's second one."""
    import threading

    from tests.netlab import in_netns

    _sandbox(vc, netlab.sandbox_path)
    _, doc = _doctor(capsys, "--vc-root", str(vc))
    assert _find(doc, "link-errors-growing") == []  # nothing moves: nothing to say
    subprocess.run(["ip", "-n", netlab.cni, "link", "set", "veth0", "down"], check=True)

    def packet_socket() -> socket.socket:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind(("eth0", 0))
        return s

    sock = in_netns(netlab.sandbox_path, packet_socket)
    stop = threading.Event()
    frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"\x00" * 46

    def send() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):  # a full queue is a drop too
                sock.send(frame)
            stop.wait(0.01)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        _, doc = _doctor(capsys, "--vc-root", str(vc))
    finally:
        stop.set()
        sender.join()
        sock.close()
    (f,) = _find(doc, "link-errors-growing", sandbox=GO_SID, device="eth0")
    assert "tx_dropped" in f["evidence"][0] and f["severity"] == "warning"


@pytest.mark.kernel
def test_a_vm_and_a_virtiofsd_whose_shim_died_and_a_gone_namespace(
    tmp_path: Path, vc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a killed shim leaves: its QEMU and virtiofsd running (reparented), the state
    directory still saying running, the namespace CNI already deleted, the layer files
    (the sample's) not on this host."""
    _, qemu_bin = _procs(tmp_path)
    fsd_bin = kataprocs.install(qemu_bin, tmp_path / "kata-bin", "virtiofsd")
    _sandbox(vc, "/var/run/netns/cni-gone-doctor-test")
    shared = f"--shared-dir=/run/kata-containers/shared/sandboxes/{GO_SID}/shared"
    vm = subprocess.Popen([str(qemu_bin), "-name", f"sandbox-{GO_SID}"], process_group=0)
    fsd = subprocess.Popen([str(fsd_bin), shared, "--fd=3"], process_group=0)
    try:
        kataprocs.wait_until(lambda: kataprocs.argv_of(fsd.pid)[:1] == [str(fsd_bin)])
        kataprocs.wait_until(lambda: kataprocs.argv_of(vm.pid)[:1] == [str(qemu_bin)])
        _, doc = _doctor(capsys, "--vc-root", str(vc))
        (f,) = _find(doc, "vm-without-shim", sandbox=GO_SID)
        assert f["evidence"][0].startswith(f"pid {vm.pid} (qemu-system-x86_64)")
        assert f["fix"].startswith(f"kill {vm.pid} ")
        assert _find(doc, "shim-missing", sandbox=GO_SID)
        (ns,) = _find(doc, "netns-missing", sandbox=GO_SID)
        assert ns["evidence"][0].endswith("Network.NetworkID /var/run/netns/cni-gone-doctor-test")
        gone = _find(doc, "device-file-gone", sandbox=GO_SID)
        assert {f["device"] for f in gone} == {"3f6c1d2e8a9b0c47", "b81e4d07a2c95f36"}
        assert _find(doc, "virtiofsd-without-vm") == []  # the VM is there
        vm.terminate()
        vm.wait(timeout=5)
        _, doc = _doctor(capsys, "--vc-root", str(vc))
        (f,) = _find(doc, "virtiofsd-without-vm", sandbox=GO_SID)
        assert f["fix"] == f"kill {fsd.pid}"
    finally:
        for p in (vm, fsd):
            if p.poll() is None:
                p.kill()
                p.wait()
