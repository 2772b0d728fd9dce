"""A real QEMU behind the engine: EROFS layers made with mkfs.erofs, mounted as containerd's
snapshotter mounts them, resolved on the live kernel and hot-plugged over QMP exactly as
Kata's qemu.go does. The guest side is the simulated agent (there is no guest kernel: the
VM stays paused). Every QEMU started here is killed by pid in a finalizer."""

from __future__ import annotations

import json
import os
import shutil
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from backends.host.linux import LinuxHost
from backends.hypervisor.qemu import QemuHypervisor
from backends.hypervisor.qemuargs import QemuConfig
from kata_console.engine.lifecycle.container import ContainerConfig, RootFs
from kata_console.engine.lifecycle.events import STEP_BEGIN, STEP_END, Event, EventBus
from kata_console.engine.lifecycle.sandbox import Sandbox, SandboxConfig
from kata_console.engine.lifecycle.sandboxstore import restore_sandbox
from kata_console.engine.lifecycle.sim import SimAgent
from kata_console.engine.persist.store import PersistStore
from kata_console.engine.ports import HypervisorError
from tests import gocheck
from tests.kernellab import KernelLab
from tests.qemukit import needs_qemu

SNAP = "io.containerd.snapshotter.v1.erofs/snapshots"

pytestmark = needs_qemu


class QemuSandbox:
    """A sandbox on a real QEMU, with the live kernel as its host view."""

    def __init__(self, root: Path, reaper: list[int], driver: str = "virtio-scsi") -> None:
        self.events: list[Event] = []
        self.bus = EventBus()
        self.bus.subscribe(self.events.append)
        self.reaper = reaper
        self.vm = QemuHypervisor(
            root / "vm" / "sb-q", block_driver=driver, bus=self.bus, config=QemuConfig()
        )
        self.sandbox = Sandbox(
            SandboxConfig("sb-q", hypervisor_type="qemu", block_device_driver=driver),
            agent=SimAgent(),
            hypervisor=self.vm,
            host=LinuxHost(),
            store=PersistStore(root / "sbs", fsync=False),
            bus=self.bus,
        )

    async def up(self) -> None:
        await self.sandbox.create()
        assert self.vm.pid is not None
        self.reaper.append(self.vm.pid)
        await self.sandbox.start()

    async def blocks(self) -> list[dict[str, Any]]:
        return await self.vm.query_block()


def _rootfs(lowers: list[Path], upper: Path) -> RootFs:
    return RootFs(
        "overlay",
        "overlay",
        [
            "lowerdir=" + ":".join(str(p) for p in lowers),
            f"upperdir={upper}/fs",
            f"workdir={upper}/work",
        ],
    )


def _layers(lab: KernelLab, n: int) -> list[Path]:
    """`n` real EROFS layers, mounted as the snapshotter mounts them (every other one
    through a loop device); their mountpoints, top layer first."""
    snaps = lab.path(SNAP)
    fs = []
    for i in range(1, n + 1):
        image = lab.mkfs(snaps / f"{i}/layer.erofs", {f"f{i}": f"layer {i}"})
        lab.mount_erofs(lab.losetup(image) if i % 2 else image, snaps / f"{i}/fs")
        fs.append(snaps / f"{i}/fs")
    return fs[::-1]


@pytest.fixture
async def qsb(tmp_path: Path, reaper: list[int]) -> AsyncIterator[QemuSandbox]:
    q = QemuSandbox(tmp_path, reaper)
    yield q
    await q.vm.stop_vm()


@pytest.mark.kernel
async def test_three_layers_are_three_read_only_scsi_disks_shared_once_and_unplugged(
    lab: KernelLab, qsb: QemuSandbox
) -> None:
    await qsb.up()
    pid = qsb.vm.pid
    assert pid is not None and (Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:3]) == [
        shutil.which("qemu-system-x86_64").encode(),  # type: ignore[union-attr]
        b"-name",
        b"sandbox-sb-q",  # how the host inspection finds Kata's VMs
    ]
    lowers = _layers(lab, 3)
    snaps = lab.path(SNAP)
    await qsb.sandbox.create_container(ContainerConfig("c1", _rootfs(lowers, snaps / "10")))
    blocks = await qsb.blocks()
    assert sorted((b["address"], b["read_only"]) for b in blocks) == [
        ("0:0", True),
        ("0:1", True),
        ("0:2", True),
    ]
    seen = len(qsb.events)
    assert await qsb.vm.query_block(quiet=True) == blocks  # the console's look: the same
    assert len(qsb.events) == seen  # ... and no step, no log line
    by_file = {b["file"]: b for b in blocks}
    assert sorted(by_file) == sorted(str(snaps / f"{i}/layer.erofs") for i in (1, 2, 3))
    # the second container shares layer 1: one disk, two references
    await qsb.sandbox.create_container(ContainerConfig("c2", _rootfs([lowers[-1]], snaps / "11")))
    assert len(await qsb.blocks()) == 3
    shared = next(
        d
        for d in qsb.sandbox.devices.get_all_devices()
        if d.host_path == str(snaps / "1/layer.erofs")
    )
    assert (shared.refcount, shared.attach_count) == (2, 2)
    # stopping c1 unplugs exactly its own two layers; the shared one stays
    await qsb.sandbox.stop_container("c1")
    await qsb.sandbox.delete_container("c1")
    assert [b["file"] for b in await qsb.blocks()] == [str(snaps / "1/layer.erofs")]
    await qsb.sandbox.stop_container("c2")
    await qsb.sandbox.delete_container("c2")
    assert await qsb.blocks() == []
    await qsb.sandbox.stop()
    assert qsb.vm.exit_reason == "exited with status 0"
    assert not Path(f"/proc/{pid}").exists()
    assert not qsb.vm.qmp_socket.exists()


@pytest.mark.kernel
async def test_each_qmp_command_is_a_step_shown_before_it_is_sent(
    lab: KernelLab, qsb: QemuSandbox
) -> None:
    await qsb.up()
    lowers = _layers(lab, 1)
    qsb.events.clear()
    await qsb.sandbox.create_container(ContainerConfig("c1", _rootfs(lowers, lab.path("up"))))
    qmp = [e for e in qsb.events if e.kind in (STEP_BEGIN, STEP_END) and e.text.startswith("QMP")]
    begin, end = qmp[0], qmp[1]
    assert begin.kind == STEP_BEGIN and begin.text.startswith('QMP blockdev-add {"driver":"raw"')
    assert '"read-only":true' in begin.text and '"node-name":"drive-' in begin.text
    assert end.kind == STEP_END and end.fields == {"result": "{}"}
    device_add = qmp[2]
    assert device_add.text.startswith('QMP device_add {"id":"virtio-drive-')
    assert '"driver":"scsi-hd"' in device_add.text and '"bus":"scsi0.0"' in device_add.text
    hotplug = next(e for e in qsb.events if e.kind == STEP_BEGIN and e.text.startswith("hotplug"))
    assert hotplug.step is not None and hotplug.seq < begin.seq  # inside the engine's step


@pytest.mark.kernel
async def test_qemu_killed_mid_hotplug_fails_the_create_and_frees_the_index(
    lab: KernelLab, qsb: QemuSandbox
) -> None:
    """SIGKILL between blockdev-add and device_add: an error naming QEMU, no exception
    escapes the engine's rollback, the block index is free, the VM is reported gone."""
    await qsb.up()
    lowers = _layers(lab, 2)

    def kill_after_blockdev_add(e: Event) -> None:
        if e.kind == STEP_END and e.text.startswith("QMP blockdev-add"):
            os.kill(qsb.vm.pid, signal.SIGKILL)  # type: ignore[arg-type]

    qsb.bus.subscribe(kill_after_blockdev_add)
    with pytest.raises(HypervisorError) as failed:
        await qsb.sandbox.create_container(ContainerConfig("c1", _rootfs(lowers, lab.path("up"))))
    text = str(failed.value)
    assert text.startswith(f"QEMU (pid {qsb.vm.pid}) ") and "SIGKILL" in text, text
    assert qsb.sandbox.block_index_map == set()
    assert qsb.sandbox.devices.devices == {}  # the rollback removed what it created
    assert "c1" not in qsb.sandbox.containers
    with pytest.raises(HypervisorError, match=r"^qemu is not running$"):
        await qsb.vm.check()  # what the monitor reports from now on
    facts = dict(qsb.vm.facts())
    assert facts["vm"].startswith("exited (killed by signal 9 (SIGKILL))")
    assert facts["vm pid"] == f"{qsb.vm.pid} (exited)" and "qmp" not in facts


async def test_a_missing_binary_is_one_clear_line(tmp_path: Path) -> None:
    vm = QemuHypervisor(tmp_path / "vm", config=QemuConfig(binary="qemu-system-nowhere"))
    with pytest.raises(HypervisorError) as failed:
        await vm.start_vm("sb1")
    assert str(failed.value) == "qemu-system-nowhere: not found (install qemu-system-x86)"


async def test_qemu_that_refuses_its_options_names_the_binary_and_its_stderr(
    tmp_path: Path, reaper: list[int]
) -> None:
    vm = QemuHypervisor(tmp_path / "vm", config=QemuConfig(machine="no-such-machine"))
    with pytest.raises(HypervisorError) as failed:
        await vm.start_vm("sb1")
    text = str(failed.value)
    assert text.startswith(f"{shutil.which('qemu-system-x86_64')} exited with status 1: ")
    assert "unsupported machine type" in text and "\n" not in text
    assert vm.running is False


async def test_the_run_directory_is_private_and_cleaned(tmp_path: Path, reaper: list[int]) -> None:
    vm = QemuHypervisor(tmp_path / "vm")
    await vm.start_vm("sb1")
    assert vm.pid is not None
    reaper.append(vm.pid)
    assert (tmp_path / "vm").stat().st_mode & 0o777 == 0o700
    assert vm.qmp_socket.is_socket()
    assert int((tmp_path / "vm" / "pid").read_text()) == vm.pid
    facts = dict(vm.facts())
    assert facts["vm"].startswith(f"prelaunch, QEMU {vm.version.split()[0]}; guest: simulated")
    assert facts["machine"] in ("q35, accel kvm", "q35, accel tcg")
    await vm.stop_vm()
    assert sorted(p.name for p in (tmp_path / "vm").iterdir()) == []


@pytest.mark.kernel
async def test_virtio_blk_takes_a_root_port_and_its_unplug_times_out_without_a_guest(
    lab: KernelLab, tmp_path: Path, reaper: list[int]
) -> None:
    """virtio-blk: the guest PCI path is the root port's slot; on a paused VM with no guest
    the unplug is never acknowledged, which is a clear timeout, not a hang."""
    q = QemuSandbox(tmp_path, reaper, driver="virtio-blk")
    q.vm.config = QemuConfig(unplug_timeout=0.5)
    try:
        await q.up()
        lowers = _layers(lab, 2)
        await q.sandbox.create_container(ContainerConfig("c1", _rootfs(lowers, lab.path("up"))))
        paths = sorted(d.drive.pci_path for d in q.sandbox.devices.devices.values())
        assert paths == ["04/00", "05/00"]
        assert sorted(b["address"] for b in await q.blocks()) == paths
        with pytest.raises(HypervisorError, match=r"did not release virtio-drive-.* within 0.5 s"):
            await q.vm.hotplug_remove_block(next(iter(q.vm.plugged.values())))
        assert len(q.vm.plugged) == 2  # still QEMU's: its root port stays taken
    finally:
        await q.vm.stop_vm()


@pytest.mark.kernel
@pytest.mark.skipif(gocheck.go_binary() is None, reason="the Go toolchain is not installed")
async def test_go_reads_a_qemu_sandbox_and_a_restore_gets_the_pci_paths_back(
    lab: KernelLab, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, reaper: list[int]
) -> None:
    """HypervisorState as QEMU's Save() writes it (Pid, Type, UUID, the root ports as
    `pcie` bridges): Kata's Go decoder reads it back byte for byte, and a restore puts each
    virtio-blk drive's PCI path back from the bridges."""
    q = QemuSandbox(tmp_path, reaper, driver="virtio-blk")
    try:
        await q.up()
        lowers = _layers(lab, 2)
        await q.sandbox.create_container(ContainerConfig("c1", _rootfs(lowers, lab.path("up"))))
        sbs = tmp_path / "sbs"
        doc = json.loads((sbs / "sb-q" / "persist.json").read_text())
        hs = doc["HypervisorState"]
        assert (hs["Type"], hs["Pid"]) == ("qemu", q.vm.pid) and len(hs["UUID"]) == 36
        assert [b["ID"] for b in hs["Bridges"]] == ["rp0", "rp1", "rp2", "rp3"]
        assert [b["Addr"] for b in hs["Bridges"]][:2] == [4, 5]
        checker = gocheck.build(tmp_path_factory.mktemp("gocheck"))
        files = [
            ("sandbox", sbs / "sb-q" / "persist.json"),
            ("container", sbs / "sb-q" / "c1" / "persist.json"),
        ]
        assert gocheck.check(checker, files) == ["OK", "OK"]
        before = {d.id: d.drive.pci_path for d in q.sandbox.devices.get_all_devices()}
        restored = restore_sandbox(
            PersistStore(sbs, fsync=False),
            "sb-q",
            agent=SimAgent(),
            hypervisor=QemuHypervisor(tmp_path / "vm2", block_driver="virtio-blk"),
        )
        after = {d.id: d.drive.pci_path for d in restored.devices.get_all_devices()}
        assert after == before and sorted(after.values()) == ["04/00", "05/00"]
    finally:
        await q.vm.stop_vm()
