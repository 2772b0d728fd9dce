"""Finding Kata's processes with psutil (backends/discovery/processes.py).

The processes are real, but they are test doubles of Kata's: a compiled sleeper copied
under Kata's binary names and run with the argv shapes of Kata's Go runtime (see
tests/kataprocs.py), a Python busy loop started under a QEMU argv[0], and the real QEMU
binary paused before it runs any guest. Nothing here talks to a real shim or VM.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.discovery.kataargv import identify, role_of
from backends.discovery.processes import PsutilProcesses
from kata_console.engine.inspect.facts import ProcessFacts
from tests.kataprocs import SANDBOX, SHIM_ARGV, FakeTree, build_pause, install, wait_until

SHARED = f"/run/kata-containers/shared/sandboxes/{SANDBOX}/shared"


@pytest.fixture(scope="module")
def bindir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("fake-kata")
    pause = build_pause(work)
    if pause is None:
        pytest.skip("no C compiler (gcc or cc) to build the stand-in Kata processes")
    for name in (
        "containerd-shim-kata-v2",
        "qemu-system-x86_64",
        "virtiofsd",
        "cloud-hypervisor",
        "firecracker",
    ):
        install(pause, work / "bin", name)
    return work / "bin"


@pytest.fixture
def trees(tmp_path: Path) -> Iterator[list[FakeTree]]:
    made: list[FakeTree] = []
    try:
        yield made
    finally:
        for tree in made:
            tree.close()


def kata_tree(bindir: Path, tmp_path: Path, trees: list[FakeTree], sid: str = SANDBOX) -> FakeTree:
    shim = [str(bindir / "containerd-shim-kata-v2"), *SHIM_ARGV, sid]
    qemu = [
        str(bindir / "qemu-system-x86_64"),
        "-name",
        f"sandbox-{sid},debug-threads=on",
        "-uuid",
        "6d0e2a3c-1111-4222-8333-944455556666",
        "-pidfile",
        f"/run/vc/vm/{sid}/pid",
    ]
    shared = f"/run/kata-containers/shared/sandboxes/{sid}/shared"
    fsd = [
        str(bindir / "virtiofsd"),
        "--syslog",
        "--cache=auto",
        f"--shared-dir={shared}",
        "--fd=3",
    ]
    tree = FakeTree(shim, [qemu, fsd], specdir=tmp_path)
    trees.append(tree)
    return tree


def by_pid(facts: list[ProcessFacts]) -> dict[int, ProcessFacts]:
    return {f.pid: f for f in facts}


def comm(pid: int) -> str:
    with open(f"/proc/{pid}/comm") as fh:
        return fh.read().strip()


def test_a_kata_tree_is_found_with_roles_sandbox_and_children(
    bindir: Path, tmp_path: Path, trees: list[FakeTree]
) -> None:
    tree = kata_tree(bindir, tmp_path, trees)
    qemu = tree.child(str(bindir / "qemu-system-x86_64"))
    fsd = tree.child(str(bindir / "virtiofsd"))
    found = by_pid(PsutilProcesses().scan())

    shim = found[tree.shim.pid]
    # the kernel truncates the comm; the match is on psutil's restored name
    assert comm(tree.shim.pid) == "containerd-shim"
    assert comm(qemu) == "qemu-system-x86"
    assert (shim.name, shim.role, shim.sandbox_id) == ("containerd-shim-kata-v2", "shim", SANDBOX)
    assert (found[qemu].name, found[qemu].role) == ("qemu-system-x86_64", "vmm")
    assert (found[fsd].name, found[fsd].role) == ("virtiofsd", "virtiofsd")
    assert found[qemu].sandbox_id == found[fsd].sandbox_id == SANDBOX
    assert shim.children == sorted([qemu, fsd])
    assert found[qemu].ppid == found[fsd].ppid == tree.shim.pid
    assert shim.ppid == os.getpid()
    assert shim.cmdline == [str(bindir / "containerd-shim-kata-v2"), *SHIM_ARGV, SANDBOX]
    for f in (shim, found[qemu], found[fsd]):
        assert f.error is None
        assert f.status == "sleeping"
        assert f.rss is not None and f.rss > 0
        assert f.threads == 1
        assert f.fds is not None and f.fds >= 3
        assert f.create_time is not None and abs(f.create_time - time.time()) < 120
        # round-trips through the recording format
        assert ProcessFacts.from_dict(json.loads(json.dumps(f.to_dict()))) == f


def test_cpu_percent_is_none_first_then_measured(tmp_path: Path) -> None:
    """A busy loop under a QEMU argv[0] (its comm is python's: matched by argv[0])."""
    argv0 = "qemu-system-x86_64"
    proc = subprocess.Popen(
        [argv0, "-c", "while True: pass", "-name", f"sandbox-{SANDBOX}"],
        executable=sys.executable,
    )
    try:
        wait_until(lambda: Path(f"/proc/{proc.pid}/cmdline").read_bytes().startswith(b"qemu"))
        source = PsutilProcesses()
        first = by_pid(source.scan())[proc.pid]
        assert first.cpu_percent is None
        assert (first.role, first.sandbox_id, first.name) == ("vmm", SANDBOX, argv0)
        time.sleep(0.5)
        second = by_pid(source.scan())[proc.pid]
        assert second.cpu_percent is not None and second.cpu_percent > 5.0
        # another instance has its own samples: its first answer is None again
        assert by_pid(PsutilProcesses().scan())[proc.pid].cpu_percent is None
        assert by_pid(source.scan())[proc.pid].cpu_percent is not None
    finally:
        proc.kill()
        proc.wait()
    assert proc.pid not in by_pid(source.scan())


def test_killed_processes_are_zombies_then_gone(
    bindir: Path, tmp_path: Path, trees: list[FakeTree]
) -> None:
    tree = kata_tree(bindir, tmp_path, trees)
    qemu = tree.child(str(bindir / "qemu-system-x86_64"))
    source = PsutilProcesses()
    assert qemu in by_pid(source.scan())
    os.kill(qemu, signal.SIGKILL)  # the stand-in shim does not reap it yet

    def zombie() -> bool:
        return Path(f"/proc/{qemu}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"

    wait_until(zombie, what="the VMM to become a zombie")
    facts = by_pid(source.scan())
    z = facts[qemu]
    # a zombie has no argv left: still a Kata VMM by its parent, and in its sandbox
    assert (z.status, z.role, z.sandbox_id, z.cmdline) == ("zombie", "vmm", SANDBOX, [])
    assert facts[tree.shim.pid].children == sorted(tree.children)
    tree.close()
    after = by_pid(source.scan())
    assert not {tree.shim.pid, *tree.children} & after.keys()


def test_a_process_that_exits_between_the_pass_and_its_description(
    bindir: Path, tmp_path: Path, trees: list[FakeTree]
) -> None:
    tree = kata_tree(bindir, tmp_path, trees)

    class Racing(PsutilProcesses):
        """Ends the shim's tree after the pass has seen it, before it is described."""

        def _matches(self):  # type: ignore[no-untyped-def]
            matches = super()._matches()
            tree.close()
            return matches

    facts = by_pid(Racing().scan())
    shim = facts[tree.shim.pid]
    assert (shim.status, shim.error, shim.sandbox_id) == ("exited", "exited", SANDBOX)
    assert shim.rss is None and shim.cpu_percent is None
    for pid in tree.children:  # marked in their argv, so kept with the status
        assert (facts[pid].status, facts[pid].error) == ("exited", "exited")


def test_hostile_ids_in_argv_are_refused(
    bindir: Path, tmp_path: Path, trees: list[FakeTree]
) -> None:
    shim = [str(bindir / "containerd-shim-kata-v2"), *SHIM_ARGV, "../../etc"]
    qemu = [str(bindir / "qemu-system-x86_64"), "-name", "sandbox-../../etc/shadow"]
    fsd = [str(bindir / "virtiofsd"), "--shared-dir", "/x/shared/sandboxes/../shared"]
    tree = FakeTree(shim, [qemu, fsd], specdir=tmp_path)
    trees.append(tree)
    facts = by_pid(PsutilProcesses().scan())
    s, q, v = facts[tree.shim.pid], facts[tree.child(qemu[0])], facts[tree.child(fsd[0])]
    assert s.sandbox_id is q.sandbox_id is v.sandbox_id is None
    assert s.error == (
        "-id '../../etc': invalid container/sandbox ID "
        '(should match "^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")'
    )
    assert q.error is not None and q.error.startswith("-name '../../etc/shadow': invalid")
    assert v.error is not None and v.error.startswith("--shared-dir '..': invalid")
    assert s.status == q.status == "sleeping"  # described all the same


def test_other_hypervisors_and_foreign_vms(
    bindir: Path, tmp_path: Path, trees: list[FakeTree]
) -> None:
    """cloud-hypervisor (a 16-character name) and a jailed firecracker, both outside any
    shim, are Kata's by their argv; a libvirt-style QEMU is not, and is left out."""
    clh = [str(bindir / "cloud-hypervisor"), "--api-socket", f"/run/vc/vm/{SANDBOX}/clh-api.sock"]
    fc = [
        str(bindir / "firecracker"),
        "--id",
        SANDBOX,
        "--start-time-us",
        "1",
        "--config-file",
        "x",
    ]
    foreign = [str(bindir / "qemu-system-x86_64"), "-name", "guest=web1,debug-threads=on"]
    holder = FakeTree([str(bindir / "virtiofsd")], [clh, fc, foreign], specdir=tmp_path)
    trees.append(holder)
    facts = by_pid(PsutilProcesses().scan())
    c, f = facts[holder.child(clh[0])], facts[holder.child(fc[0])]
    assert comm(c.pid) == "cloud-hyperviso"
    assert (c.name, c.role, c.sandbox_id) == ("cloud-hypervisor", "vmm", SANDBOX)
    assert (f.name, f.role, f.sandbox_id) == ("firecracker", "vmm", SANDBOX)
    assert holder.child(foreign[0]) not in facts
    # a virtiofsd without a Kata shared dir and no shim parent is not Kata's either
    assert holder.shim.pid not in facts


def scan_as_nobody() -> list[ProcessFacts]:
    """A scan from a forked child that dropped root for `nobody` (psutil is already
    loaded, so the child needs no file the venv's owner could keep from it)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            os.close(read)
            os.setgroups([])
            os.setresgid(65534, 65534, 65534)
            os.setresuid(65534, 65534, 65534)
            data = json.dumps([f.to_dict() for f in PsutilProcesses().scan()]).encode()
            with os.fdopen(write, "wb") as fh:
                fh.write(data)
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        data = fh.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return [ProcessFacts.from_dict(d) for d in json.loads(data)]


def test_access_denied_is_a_status_with_what_could_be_read(
    bindir: Path, tmp_path: Path, trees: list[FakeTree]
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root: the scan runs as nobody against root's processes")
    tree = kata_tree(bindir, tmp_path, trees)
    facts = by_pid(scan_as_nobody())
    shim = facts[tree.shim.pid]
    assert shim.error == "access-denied"  # /proc/<pid>/fd is the owner's
    assert shim.fds is None
    assert (shim.sandbox_id, shim.status, shim.ppid) == (SANDBOX, "sleeping", os.getpid())
    assert shim.rss is not None and shim.threads == 1
    assert shim.children == sorted(tree.children)


def accepts(path: Path) -> bool:
    """QEMU listens on its QMP socket once its main loop runs (its threads are up)."""
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def test_the_real_qemu_binary_paused(tmp_path: Path) -> None:
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        pytest.skip("qemu-system-x86_64 is not installed")
    sid = "real" + SANDBOX[4:]
    argv = [
        qemu,
        "-S",
        "-nodefaults",
        "-display",
        "none",
        "-machine",
        "none",
        "-name",
        f"sandbox-{sid},debug-threads=on",
        "-qmp",
        f"unix:{tmp_path}/qmp.sock,server=on,wait=off",
    ]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: accepts(tmp_path / "qmp.sock"), what="QEMU's QMP socket")
        found = by_pid(PsutilProcesses().scan())[proc.pid]
        assert comm(proc.pid) == "qemu-system-x86"
        assert (found.name, found.role, found.sandbox_id) == ("qemu-system-x86_64", "vmm", sid)
        assert found.threads is not None and found.threads >= 2
        assert found.rss is not None and found.rss > 1 << 20
    finally:
        proc.kill()
        proc.wait()
    assert proc.pid not in by_pid(PsutilProcesses().scan())


# ------------------------------------------------------------- argv forms alone

VM = f"/run/vc/vm/{SANDBOX}"


@pytest.mark.parametrize(
    ("argv", "sid"),
    [
        # Go shim, as newCommand builds it, with -debug; and Go flag's `-id=` spelling
        (["containerd-shim-kata-v2", *SHIM_ARGV, SANDBOX, "-debug"], SANDBOX),
        (["/opt/kata/bin/containerd-shim-kata-v2", f"-id={SANDBOX}", "start"], SANDBOX),
        # kata-deploy's per-hypervisor shim name for the same binary
        (["/opt/kata/bin/containerd-shim-kata-qemu-v2", "-id", SANDBOX], SANDBOX),
        (["qemu-system-aarch64", "-name", f"sandbox-{SANDBOX}", "-uuid", "x"], SANDBOX),
        (["/usr/libexec/qemu-kvm", "-name", f"guest=sandbox-{SANDBOX},debug-threads=on"], SANDBOX),
        (["cloud-hypervisor", "--api-socket", f"{VM}/clh-api.sock", "-v"], SANDBOX),
        (["cloud-hypervisor", "--api-socket", f"path={VM}/clh-api.sock"], SANDBOX),
        (["firecracker", "--id", SANDBOX, "--start-time-us", "1", "--config-file", "c"], SANDBOX),
        (
            [
                "/opt/kata/bin/firecracker",
                "--api-sock",
                f"/run/vc/firecracker/{SANDBOX}/root/run/firecracker.socket",
                "--config-file",
                f"/run/vc/firecracker/{SANDBOX}/root/fcConfig.json",
            ],
            SANDBOX,
        ),
        (["virtiofsd", "--syslog", "--cache=auto", f"--shared-dir={SHARED}", "--fd=3"], SANDBOX),
        (["/usr/libexec/virtiofsd", "--shared-dir", SHARED + "/", "--xattr"], SANDBOX),
        (["virtiofsd", "--fd=3", "-o", f"source={SHARED},cache=auto"], SANDBOX),
        # rootless Kata keeps the same tail under the user's runtime directory
        (["virtiofsd", f"--shared-dir=/run/user/1000{SHARED}"], SANDBOX),
    ],
)
def test_sandbox_id_from_each_argv_form(argv: list[str], sid: str) -> None:
    found = role_of(None, argv[0])
    assert found is not None
    ident = identify(found[0], found[1], argv)
    assert (ident.sandbox_id, ident.marked, ident.error) == (sid, True, None)


@pytest.mark.parametrize(
    "argv",
    [
        ["qemu-system-x86_64", "-name", "guest=web1,debug-threads=on"],
        ["qemu-system-x86_64", "-machine", "q35"],
        ["cloud-hypervisor", "--api-socket", "/tmp/ch.sock"],
        ["firecracker", "--api-sock", "/tmp/firecracker.socket"],
        ["virtiofsd", "--shared-dir=/srv/share", "--socket-path=/tmp/vfsd.sock"],
    ],
)
def test_foreign_vmms_and_virtiofsds_are_not_marked(argv: list[str]) -> None:
    found = role_of(argv[0], argv[0])
    assert found is not None
    ident = identify(found[0], found[1], argv)
    assert (ident.sandbox_id, ident.marked) == (None, False)


@pytest.mark.parametrize(
    ("name", "argv0"),
    [
        ("containerd-shim", "containerd-shim"),  # runc's v1 shim, and every truncated comm
        ("containerd-shim-runc-v2", "/usr/bin/containerd-shim-runc-v2"),
        ("qemu-img", "qemu-img"),
        ("sleep", "sleep"),
        (None, None),
    ],
)
def test_names_that_are_not_kata(name: str | None, argv0: str | None) -> None:
    assert role_of(name, argv0) is None
