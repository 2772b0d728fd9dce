"""In-process test doubles for the VM side: `SimHypervisor`, `SimFsShare`, and the fault
queue (`Faults`) every simulated port shares.

These are TEST DOUBLES (see `sim` for the agent): a VM cannot run here, so they model just
enough of one (a drive must be plugged into a started VM before it is unplugged) for the
engine's sequencing to be exercised and shown, and every method can be made to fail or
stall through `faults`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kata_console.engine.ports import HypervisorError


@dataclass
class _Fault:
    error: BaseException | None
    times: int | None  # None: every call
    delay: float = 0.0


class Faults:
    """Per-method fault injection: fail the next `times` calls, or stall them."""

    def __init__(self) -> None:
        self._faults: dict[str, list[_Fault]] = {}

    def fail(self, method: str, error: BaseException, times: int | None = 1) -> None:
        self._faults.setdefault(method, []).append(_Fault(error, times))

    def stall(self, method: str, seconds: float, times: int | None = 1) -> None:
        self._faults.setdefault(method, []).append(_Fault(None, times, seconds))

    def clear(self) -> None:
        self._faults.clear()

    def take(self, method: str) -> _Fault | None:
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
        return fault


class SimHypervisor:
    """Test double for the VM; see the module doc. Drives must be plugged into a started
    VM; virtio-blk hot-plugs take a slot on a PCI bridge at address 2 and get the PCI path
    `02/<slot>`, as QEMU's `pci-bridge-0` gives them, and the bridge's slot table is what
    `save_state` reports (Go's `HypervisorState.Bridges`), so the path survives a restore."""

    BRIDGE_ID = "pci-bridge-0"
    BRIDGE_ADDR = 2

    def __init__(self, block_driver: str = "virtio-scsi", kind: str = "sim") -> None:
        self.block_driver = block_driver
        self.kind = kind
        self._started_here = False
        self.faults = Faults()
        self.calls: list[tuple[str, str]] = []
        self.sandbox_id: str | None = None
        self.running = False
        self.plugged: dict[str, Any] = {}
        self._slots: dict[str, int] = {}

    async def _enter(self, method: str, arg: str = "") -> None:
        self.calls.append((method, arg))
        fault = self.faults.take(method)
        if fault is None:
            return
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.error is not None:
            raise fault.error

    async def start_vm(self, sandbox_id: str) -> None:
        await self._enter("start_vm", sandbox_id)
        self.sandbox_id, self.running = sandbox_id, True
        self._started_here = True

    async def stop_vm(self) -> None:
        await self._enter("stop_vm")
        self.running = False
        self.plugged.clear()
        self._slots.clear()

    async def check(self) -> None:
        await self._enter("check")
        if not self.running:
            raise HypervisorError("sim hypervisor: VM not running")

    async def hotplug_add_block(self, drive: Any) -> None:
        await self._enter("hotplug_add_block", drive.id)
        if not self.running:
            raise HypervisorError("sim hypervisor: VM not running")
        if drive.id in self.plugged:
            raise HypervisorError(f"Duplicate ID 'virtio-{drive.id}' for device")
        if self.block_driver == "virtio-blk":
            slot = next(s for s in range(1, 31) if s not in self._slots.values())
            self._slots[drive.id] = slot
            drive.pci_path = f"{self.BRIDGE_ADDR:02x}/{slot:02x}"
        self.plugged[drive.id] = drive

    async def hotplug_remove_block(self, drive: Any) -> None:
        await self._enter("hotplug_remove_block", drive.id)
        if drive.id not in self.plugged:
            raise HypervisorError(f"Device 'virtio-{drive.id}' not found")
        del self.plugged[drive.id]
        self._slots.pop(drive.id, None)

    def agent_url(self) -> str:
        return f"sim://{self.sandbox_id or ''}"

    def save_state(self) -> dict[str, Any] | None:
        """Go `hypervisor.Save()`: nothing of its own for a VM it did not start (a restored
        sandbox keeps what was read), Go's zero state once stopped, else the bridge."""
        if not self._started_here:
            return None
        if not self.running:
            return {}
        return {
            "Type": self.kind,
            "Bridges": [
                {
                    "DeviceAddr": {slot: drive_id for drive_id, slot in self._slots.items()},
                    "Type": "pci",
                    "ID": self.BRIDGE_ID,
                    "Addr": self.BRIDGE_ADDR,
                    "ParentID": "",
                    "ParentAddr": 0,
                }
            ],
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Go `hypervisor.Load()`: take back the bridge slots a restored sandbox uses."""
        for bridge in state.get("Bridges") or ():
            if bridge.get("ID") == self.BRIDGE_ID:
                for slot, drive_id in (bridge.get("DeviceAddr") or {}).items():
                    self._slots[drive_id] = int(slot)

    def facts(self) -> Sequence[tuple[str, str]]:
        return [
            ("hypervisor", "sim (in-process test double, no VM)"),
            ("vm", "running" if self.running else "stopped"),
            ("plugged drives", str(len(self.plugged))),
        ]


class SimFsShare:
    """Records rootfs/mount sharing instead of bind-mounting (the console never mounts)."""

    def __init__(self) -> None:
        self.faults = Faults()
        self.shared: dict[tuple[str, str], str] = {}
        self.calls: list[tuple[str, str]] = []

    async def _enter(self, method: str, container_id: str) -> None:
        self.calls.append((method, container_id))
        fault = self.faults.take(method)
        if fault is not None and fault.error is not None:
            raise fault.error

    async def share_rootfs(self, sandbox_id: str, container_id: str, source: str) -> str:
        await self._enter("share_rootfs", container_id)
        path = f"/run/kata-containers/shared/sandboxes/{sandbox_id}/mounts/{container_id}/rootfs"
        self.shared[(sandbox_id, container_id)] = path
        return path

    async def unshare_rootfs(self, sandbox_id: str, container_id: str) -> None:
        await self._enter("unshare_rootfs", container_id)
        self.shared.pop((sandbox_id, container_id), None)

    async def unshare_mounts(self, sandbox_id: str, container_id: str) -> None:
        await self._enter("unshare_mounts", container_id)
