"""Benchmark: the engine's block hot-plug on a real QEMU, against the QMP floor.

In one run, on one paused q35 VM (KVM when the host has it):

* the floor: a bare QMP `query-status` round trip on qemu.qmp's client, the least any
  command costs on this socket (median of 300);
* ours: the engine hot-plugging 20 EROFS layer files (each `DeviceManager.attach_device`
  through the sandbox's receiver: the step events, `blockdev-add` + `device_add
  scsi-hd`), then removing them (`device_del`, its DEVICE_DELETED event, `blockdev-del`).
  Per-layer latency, median of 5 rounds, and its ratio to the floor times the commands a
  layer needs (2 each way). Target: at most 2x.
* bare: the same QMP commands sent straight on the client, in rounds interleaved with
  ours: what QEMU itself takes for them (its `device_add` opens the image, its SCSI
  unplug completes on a timer), so ours / bare is what the engine adds.
* VM start: `start_vm` to QMP negotiated and queried (median of 5 starts).

Figures, not assertions: a missed target prints MISSED and the exit status is 0. The VMs
are stopped at the end (and on Ctrl-C); a missing QEMU is one line and exit 0.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

# the repo instead of bench/, whose own name (qemu.py) would shadow the qemu package
sys.path[:1] = [str(Path(__file__).resolve().parents[1])]

from backends.hypervisor.qemu import QemuHypervisor  # noqa: E402
from kata_console.engine.deviceinfo import DeviceInfo  # noqa: E402
from kata_console.engine.lifecycle.events import EventBus  # noqa: E402
from kata_console.engine.lifecycle.sandbox import Sandbox, SandboxConfig  # noqa: E402
from kata_console.engine.lifecycle.sim import SimAgent  # noqa: E402

LAYERS, ROUNDS, FLOOR_CALLS, STARTS, TARGET = 20, 5, 300, 5, 2.0
COMMANDS_PER_LAYER = 2


def _layers(root: Path) -> list[DeviceInfo]:
    out = []
    for i in range(LAYERS):
        path = root / f"snapshots/{i}/layer.erofs"
        path.parent.mkdir(parents=True)
        with open(path, "wb") as f:
            f.truncate(1 << 20)  # a raw image as QEMU sees it: its content is not read
        out.append(DeviceInfo(str(path), str(path), "b", -1, 0, read_only=True))
    return out


async def _floor(vm: QemuHypervisor) -> float:
    qmp = vm.process._qmp
    assert qmp is not None
    times = []
    for _ in range(FLOOR_CALLS):
        t0 = time.perf_counter()
        await qmp.execute("query-status")
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


async def _bare(vm: QemuHypervisor, infos: list[DeviceInfo]) -> tuple[float, float]:
    qmp = vm.process._qmp
    assert qmp is not None
    t0 = time.perf_counter()
    for i, info in enumerate(infos):
        node = f"bare-{i}"
        await qmp.execute(
            "blockdev-add",
            {
                "driver": "raw",
                "read-only": True,
                "file": {"driver": "file", "filename": info.host_path, "aio": "threads"},
                "node-name": node,
            },
        )
        await qmp.execute(
            "device_add",
            {
                "id": f"virtio-{node}",
                "driver": "scsi-hd",
                "drive": node,
                "bus": "scsi0.0",
                "scsi-id": 1,
                "lun": i,
                "share-rw": True,
            },
        )
    t1 = time.perf_counter()
    for i in range(len(infos)):
        node = f"bare-{i}"
        with qmp.listener("DEVICE_DELETED") as listener:
            await qmp.execute("device_del", {"id": f"virtio-{node}"})
            await listener.get()
        await qmp.execute("blockdev-del", {"node-name": node})
    t2 = time.perf_counter()
    return (t1 - t0) / len(infos), (t2 - t1) / len(infos)


async def _round(sb: Sandbox, infos: list[DeviceInfo]) -> tuple[float, float]:
    devs = [sb.devices.new_device(info) for info in infos]
    t0 = time.perf_counter()
    for dev in devs:
        await sb.devices.attach_device(dev.id, sb)
    t1 = time.perf_counter()
    for dev in devs:
        await sb.devices.detach_device(dev.id, sb)
    t2 = time.perf_counter()
    for dev in devs:
        sb.devices.remove_device(dev.id)
    return (t1 - t0) / len(devs), (t2 - t1) / len(devs)


async def main() -> int:
    if shutil.which("qemu-system-x86_64") is None:
        print("bench/qemu.py: qemu-system-x86_64 is not installed: nothing measured")
        return 0
    with tempfile.TemporaryDirectory(prefix="kata-console-bench-qemu-") as tmp:
        root = Path(tmp)
        starts = []
        for i in range(STARTS):
            vm = QemuHypervisor(root / f"start{i}")
            t0 = time.perf_counter()
            await vm.start_vm(f"bench-start-{i}")
            starts.append(time.perf_counter() - t0)
            await vm.stop_vm()
        infos = _layers(root)
        vm = QemuHypervisor(root / "vm", bus=None)
        sb = Sandbox(
            SandboxConfig("bench-qemu", hypervisor_type="qemu"),
            agent=SimAgent(),
            hypervisor=vm,
            bus=EventBus(),
        )
        try:
            await sb.create()
            await sb.start()
            vm.bus, vm.sandbox_id = sb.bus, sb.id  # its QMP commands are steps, as in play
            floor = await _floor(vm)
            rounds, bare = [], []
            for _ in range(ROUNDS):
                rounds.append(await _round(sb, infos))
                bare.append(await _bare(vm, infos))
            floor_after = await _floor(vm)
        finally:
            await vm.stop_vm()
    floor = min(floor, floor_after)
    print(f"QEMU {vm.version}, accel {vm.accel}, {LAYERS} layers x {ROUNDS} rounds")
    print(
        f"  VM start to QMP ready  {statistics.median(starts) * 1e3:7.1f} ms (median of {STARTS})"
    )
    print(f"  floor: QMP query-status {floor * 1e6:7.0f} us (median of {FLOOR_CALLS})")
    for k, name in enumerate(("hot-plug", "unplug")):
        ours = statistics.median(r[k] for r in rounds)
        raw = statistics.median(b[k] for b in bare)
        ratio = ours / (COMMANDS_PER_LAYER * floor)
        verdict = "ok" if ratio <= TARGET else "MISSED"
        print(
            f"  {name:8} per layer      {ours * 1e6:7.0f} us = {ratio:5.2f}x "
            f"{COMMANDS_PER_LAYER} x floor (target <= {TARGET:g}x: {verdict}); "
            f"bare QMP {raw * 1e6:.0f} us = {raw / (COMMANDS_PER_LAYER * floor):.2f}x, "
            f"ours/bare {ours / raw:.2f}x"
        )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        sys.exit(130)
