"""The `Hypervisor` port on a real QEMU, driven over QMP as Kata's `qemu.go` drives it.

Each sandbox's VM is a `qemu-system-x86_64 -name sandbox-<id> ... -S` process started in
its own session (a terminal's Ctrl-C does not reach it), with QMP on `<run_dir>/qmp.sock`
in a 0700 directory. There is no guest kernel: the VM stays paused and the guest side is
the simulated agent, so what is real is everything the host does: the process, the block
nodes, the SCSI/PCI devices and their addresses, the QMP replies and errors.

Every QMP command is an engine step (`QMP blockdev-add {...}`, shown before it is sent;
its reply on the step's end event and in a log line). A PCI device on a paused VM with no
guest is never released by `device_del` (the guest must acknowledge the unplug), so its
removal times out with a clear error; virtio-scsi needs no guest and is the default.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import uuid as _uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from backends.hypervisor import qemuargs as A
from backends.hypervisor.qemuproc import NOT_RUNNING, QemuProcess
from backends.hypervisor.standins import StandInLayers
from kata_console.engine.lifecycle.drives import VIRTIO_BLK, VIRTIO_SCSI, BlockDrive
from kata_console.engine.lifecycle.events import EventBus
from kata_console.engine.ports import HypervisorError

SUBSYSTEM = "qemu"
NO_BRIDGE_SLOT = "no more bridge slots available"  # Go `addDeviceToBridge`
SUPPORTED = (VIRTIO_SCSI, VIRTIO_BLK)


def _qdev_id(qdev: str) -> str:
    """query-block's `qdev` is the device id, or a QOM path for virtio devices
    (`/machine/peripheral/<id>/virtio-backend`)."""
    prefix = "/machine/peripheral/"
    return qdev[len(prefix) :].split("/", 1)[0] if qdev.startswith(prefix) else qdev


class QemuHypervisor:
    """One sandbox's QEMU. `bus` (the sandbox's event bus) makes each QMP command a step;
    without it the commands still run, unseen."""

    kind = "qemu"

    def __init__(
        self,
        run_dir: str | os.PathLike[str],
        *,
        block_driver: str = VIRTIO_SCSI,
        config: A.QemuConfig | None = None,
        bus: EventBus | None = None,
        stand_ins: StandInLayers | None = None,
    ) -> None:
        if block_driver not in SUPPORTED:
            # Go: `Block device %s not recognized` at the first hot-plug; said at once here
            raise HypervisorError(
                f"QEMU backend: block driver {block_driver!r} is not supported "
                f"({' or '.join(SUPPORTED)})"
            )
        self.run_dir = Path(run_dir)
        self.block_driver = block_driver
        self.config = config or A.QemuConfig()
        self.bus = bus
        #: files QEMU opens in place of a recorded host's layers (None: the real files)
        self.stand_ins = stand_ins
        self.sandbox_id = ""
        self.uuid = ""
        self.version = ""
        self.accel = ""
        self.status = "not started"  # QMP's query-status, or how the process ended
        self.plugged: dict[str, BlockDrive] = {}
        self._ports: dict[str, int] = {}  # drive id -> root port index
        self.process = QemuProcess(
            self.run_dir,
            start_timeout=self.config.start_timeout,
            command_timeout=self.config.command_timeout,
            on_exit=self._exited,
        )

    # ------------------------------------------------------------------ the port

    @property
    def running(self) -> bool:
        return self.process.running

    @property
    def pid(self) -> int | None:
        return self.process.pid

    @property
    def exit_reason(self) -> str | None:
        return self.process.exit_reason

    @property
    def qmp_socket(self) -> Path:
        return self.process.qmp_socket

    async def start_vm(self, sandbox_id: str) -> None:
        if self.running:
            raise HypervisorError(f"QEMU is already running (pid {self.pid})")
        binary = shutil.which(self.config.binary)
        if binary is None:
            raise HypervisorError(f"{self.config.binary}: not found (install qemu-system-x86)")
        self.sandbox_id, self.uuid, self.status = sandbox_id, str(_uuid.uuid4()), "starting"
        argv = A.argv(self.config, binary, sandbox_id, str(self.run_dir), self.uuid)
        self._log("info", "Launching QEMU", argv=" ".join(argv))
        await self.process.launch(argv, f"kata-console-{sandbox_id}")
        try:
            self.version = A.parse_version(await self._query("query-version"))
            kvm = await self._query("query-kvm")
            self.accel = "kvm" if isinstance(kvm, dict) and kvm.get("enabled") else "tcg"
            self.status = str((await self._query("query-status")).get("status", "?"))
        except BaseException:
            await self._kill()
            raise
        self._log("info", f"QEMU {self.version} up", pid=self.pid, accel=self.accel)

    async def stop_vm(self) -> None:
        """`quit`, then reap; SIGKILL after `stop_timeout` (Go's StopVM sends SIGKILL at
        once; a `quit` lets QEMU close its images first)."""
        if not self.process.started:
            return
        if self.running:
            with contextlib.suppress(HypervisorError):
                await self._command("quit", None)
            if not await self.process.wait_exit(self.config.stop_timeout):
                self._log("warning", "QEMU did not quit in time: killed", pid=self.pid)
        await self._kill()
        self.process.cleanup()
        if self.stand_ins is not None:
            self.stand_ins.remove()

    async def check(self) -> None:
        """Go `qemu.Check`: not running, or a guest failure status, is an error."""
        if not self.running:
            raise HypervisorError(NOT_RUNNING)
        status = await self._query("query-status")
        self.status = str(status.get("status", "?"))
        if self.status in ("internal-error", "guest-panicked"):
            raise HypervisorError(f"guest failure: {self.status}")

    async def hotplug_add_block(self, drive: BlockDrive) -> None:
        """`blockdev-add`, then `device_add` per driver; `blockdev-del` when that fails
        (Go `hotplugAddBlockDevice`). virtio-blk takes the first free root port."""
        if not self.running:
            raise HypervisorError(NOT_RUNNING)
        filename = drive.file
        if self.stand_ins is not None:
            filename = self.stand_ins.file_for(drive.file)
            if filename != drive.file:
                self._log(
                    "info",
                    "Recorded layer attached as a stand-in",
                    file=drive.file,
                    stand_in=filename,
                )
        await self._command("blockdev-add", A.blockdev_add(drive, self.config.aio, filename))
        try:
            if self.block_driver == VIRTIO_BLK:
                port = self._free_port()
                self._ports[drive.id] = port
                drive.pci_path = A.pci_path(port)
                await self._command("device_add", A.pci_device_add(drive, port))
            else:
                await self._command("device_add", A.scsi_device_add(drive))
        except BaseException:
            self._ports.pop(drive.id, None)
            if drive.pci_path and self.block_driver == VIRTIO_BLK:
                drive.pci_path = ""
            if self.running:
                with contextlib.suppress(HypervisorError):
                    await self._command("blockdev-del", {"node-name": drive.id})
            raise
        self.plugged[drive.id] = drive

    async def hotplug_remove_block(self, drive: BlockDrive) -> None:
        """`device_del` and its `DEVICE_DELETED` event (bounded), then `blockdev-del`. A root
        port is freed only once QEMU released the device (Go frees it first, and loses it
        when the unplug fails)."""
        if not self.running:
            raise HypervisorError(NOT_RUNNING)
        dev_id = A.DEVICE_PREFIX + drive.id
        await self._device_del(dev_id)
        self._ports.pop(drive.id, None)
        await self._command("blockdev-del", {"node-name": drive.id})
        self.plugged.pop(drive.id, None)

    def agent_url(self) -> str:
        return f"sim://{self.sandbox_id}"  # the guest is the simulated agent

    def save_state(self) -> dict[str, Any] | None:
        """Go `qemu.Save()`: Pid, Type, UUID and the bridges; nothing once stopped. The root
        ports are written as `pcie` bridges, so a drive's PCI path survives a restore."""
        if not self.process.started:
            return None
        if not self.running:
            return {}
        return {
            "Pid": self.pid or 0,
            "Type": self.kind,
            "UUID": self.uuid,
            "Bridges": [
                {
                    "DeviceAddr": {0: d} if (d := self._port_owner(i)) else {},
                    "Type": "pcie",
                    "ID": f"{A.ROOT_PORT_PREFIX}{i}",
                    "Addr": A.root_port_slot(i),
                    "ParentID": "",
                    "ParentAddr": 0,
                }
                for i in range(self.config.root_ports)
            ],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Go `qemu.Load()`: the UUID and which root ports a restored sandbox's drives hold
        (this process does not reconnect to a VM it did not start)."""
        self.uuid = str(state.get("UUID") or "")
        for bridge in state.get("Bridges") or ():
            bid = str(bridge.get("ID") or "")
            if bridge.get("Type") == "pcie" and bid.startswith(A.ROOT_PORT_PREFIX):
                for drive_id in (bridge.get("DeviceAddr") or {}).values():
                    with contextlib.suppress(ValueError):
                        self._ports[drive_id] = int(bid[len(A.ROOT_PORT_PREFIX) :])

    def facts(self) -> Sequence[tuple[str, str]]:
        """The VM as the sandbox view shows it: QEMU's own status word (`prelaunch`: it was
        started with -S and no guest kernel runs), its pid and QMP socket."""
        reason = self.exit_reason
        state = self.status if reason is None else f"exited ({reason})"
        if reason is not None and reason.startswith("exited with status "):  # said once
            state = f"exited (status {reason.removeprefix('exited with status ')})"
        version = self.version.split()[0] if self.version else "?"
        out = [("vm", f"{state}, QEMU {version}; guest: simulated agent")]
        if self.pid is not None and reason is not None:  # a pid no process has now
            out += [("vm pid", f"{self.pid} (exited)")]
        elif self.pid is not None:
            out += [("vm pid", str(self.pid)), ("qmp", str(self.qmp_socket))]
        if self.accel:
            out += [("machine", f"{self.config.machine}, accel {self.accel}")]
        out.append(("plugged drives", str(len(self.plugged))))
        return out

    async def query_block(self, *, quiet: bool = False) -> list[dict[str, Any]]:
        """QEMU's own list of block nodes with their guest addresses: what the console puts
        next to the engine's device table, so a device only one side knows stands out.
        `quiet`: the console's own periodic look, kept out of the steps and the log."""
        query = self._silent if quiet else self._query
        out = []
        for b in await query("query-block") or ():
            inserted = b.get("inserted") or {}
            qdev = _qdev_id(str(b.get("qdev") or ""))
            row = {
                "node": str(inserted.get("node-name") or b.get("device") or ""),
                "qdev": qdev,
                "file": str(inserted.get("file") or ""),
                "read_only": bool(inserted.get("ro")),
                "address": "",
            }
            if qdev and self.block_driver == VIRTIO_SCSI:
                path = f"/machine/peripheral/{qdev}"
                sid = await query("qom-get", {"path": path, "property": "scsi-id"})
                lun = await query("qom-get", {"path": path, "property": "lun"})
                row["address"] = f"{sid}:{lun}"
            elif qdev:
                row["address"] = await self._pci_path(qdev, query)
            out.append(row)
        return out

    async def _pci_path(self, qdev: str, query: Any = None) -> str:
        """Where QEMU placed a PCI device, read back over QOM as Kata's `qomGetSlot` does:
        its bus's bridge slot, then its own slot (a devfn's upper five bits)."""
        query = query or self._query
        dev = f"/machine/peripheral/{qdev}"
        bus = str(await query("qom-get", {"path": dev, "property": "parent_bus"}))
        bridge = _qdev_id(bus)  # /machine/peripheral/rp0/rp0 -> rp0
        if bridge == bus:
            return ""  # on pcie.0 itself: not behind a bridge
        slot = int(
            await query("qom-get", {"path": f"/machine/peripheral/{bridge}", "property": "addr"})
        )
        own = int(await query("qom-get", {"path": dev, "property": "addr"}))
        return f"{slot >> 3:02x}/{own >> 3:02x}"

    # ------------------------------------------------------------------ QMP

    async def _query(self, cmd: str, args: dict[str, Any] | None = None) -> Any:
        """A read-only command: an event and a log line, not a step to stop at."""
        return await self._command(cmd, args, gate=False)

    async def _silent(self, cmd: str, args: dict[str, Any] | None = None) -> Any:
        return await self.process.execute(cmd, args)

    async def _command(self, cmd: str, args: dict[str, Any] | None, *, gate: bool = True) -> Any:
        text = f"QMP {cmd}" + (f" {json.dumps(args, separators=(',', ':'))}" if args else "")
        async with self._step(text, gate) as step:
            reply = await self.process.execute(cmd, args)
            if step is not None:
                step.result = json.dumps(reply, separators=(",", ":"))
        self._log("debug", f"QMP {cmd} returned {json.dumps(reply, separators=(',', ':'))}")
        return reply

    async def _device_del(self, dev_id: str) -> None:
        def this_device(msg: Any) -> bool:
            return bool(msg.get("data", {}).get("device") == dev_id)

        with self.process.listener("DEVICE_DELETED", this_device) as listener:
            await self._command("device_del", {"id": dev_id})
            try:
                await asyncio.wait_for(listener.get(), self.config.unplug_timeout)
            except TimeoutError:
                raise HypervisorError(
                    f"QEMU did not release {dev_id} within {self.config.unplug_timeout:g} s "
                    "(no DEVICE_DELETED: a PCI unplug needs the guest to acknowledge it, and "
                    "this VM has no guest; virtio-scsi does not)"
                ) from None

    # ------------------------------------------------------------------ private

    def _exited(self, how: str, code: int) -> None:
        self.status = "exited"
        self._log("warning" if code else "info", f"QEMU {how}", pid=self.pid)

    async def _kill(self) -> None:
        await self.process.kill()
        self.plugged.clear()
        self._ports.clear()

    def _free_port(self) -> int:
        used = set(self._ports.values())
        port = next((i for i in range(self.config.root_ports) if i not in used), None)
        if port is None:
            raise HypervisorError(NO_BRIDGE_SLOT)
        return port

    def _port_owner(self, port: int) -> str:
        return next((d for d, p in self._ports.items() if p == port), "")

    @contextlib.asynccontextmanager
    async def _step(self, text: str, gate: bool) -> AsyncIterator[Any]:
        if self.bus is None or not self.sandbox_id:
            yield None
            return
        async with self.bus.step(text, sandbox=self.sandbox_id, gate=gate) as step:
            yield step

    def _log(self, level: str, message: str, **fields: Any) -> None:
        if self.bus is not None and self.sandbox_id:
            self.bus.log(level, message, subsystem=SUBSYSTEM, sandbox=self.sandbox_id, **fields)
