"""The sandbox as Kata's block driver sees it (`api.DeviceReceiver`, sandbox.go): block
indexes from the sandbox's map, and hot-plug through the hypervisor as a step the console
can show and hold, with the block driver's own log lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kata_console.engine import errors as E
from kata_console.engine.lifecycle.devices import MAX_BLOCK_INDEX, Device, guest_address

if TYPE_CHECKING:
    from kata_console.engine.lifecycle.devices import DeviceManager
    from kata_console.engine.lifecycle.events import EventBus
    from kata_console.engine.ports import Hypervisor


class DeviceReceiverSide:
    """Mixin of `Sandbox`; the attributes below are the sandbox's."""

    if TYPE_CHECKING:
        id: str
        bus: EventBus
        devices: DeviceManager
        hypervisor: Hypervisor
        block_index_map: set[int]
        block_index_rev: int
        block_index_changed: set[int] | None
        _dirty: bool

        def log(self, level: str, message: str, **fields: Any) -> None: ...
        def _step(self, description: str) -> Any: ...

    def get_and_set_block_index(self) -> int:
        """The lowest free index in [0, 65535), marked used."""
        for index in range(MAX_BLOCK_INDEX):
            if index not in self.block_index_map:
                self.block_index_map.add(index)
                self._block_index_touched(index)
                self._dirty = True
                return index
        raise E.DeviceError(E.NO_BLOCK_INDEX)

    def _block_index_touched(self, index: int) -> None:
        self.block_index_rev += 1
        if self.block_index_changed is not None:
            self.block_index_changed.add(index)

    def unset_block_index(self, index: int) -> None:
        self.block_index_map.discard(index)
        self._block_index_touched(index)
        self._dirty = True

    def _drive_text(self, verb: str, device: Device) -> str:
        drive = device.drive
        assert drive is not None
        driver = self.devices.block_driver
        where = guest_address(drive, driver) or "-"
        mode = "ro" if drive.read_only else "rw"
        return f"{verb} block {drive.id} ({driver} {where}) file={drive.file} {mode}"

    def _device_log(self, level: str, message: str, **fields: Any) -> None:
        """The block driver's own lines (Go logs them in `drivers/block.go`)."""
        self.bus.log(level, message, subsystem="device", sandbox=self.id, **fields)

    async def hotplug_add_device(self, device: Device) -> None:
        drive = device.drive
        assert drive is not None
        driver = device.driver_options.get("block-driver", "")
        self._device_log(
            "info", f"Attaching {driver} device", device=device.host_path, VirtPath=drive.virt_path
        )
        async with self._step(self._drive_text("hotplug", device)):
            await self.hypervisor.hotplug_add_block(drive)

    async def hotplug_remove_device(self, device: Device) -> None:
        drive = device.drive
        self._device_log("info", "Unplugging block device", device=device.host_path)
        if drive is not None and drive.pmem:  # Go logs it and skips the unplug
            self.log("info", E.CANNOT_REMOVE_PMEM, path=drive.file)
            return
        try:
            async with self._step(self._drive_text("unplug", device)):
                await self.hypervisor.hotplug_remove_block(drive)
        except Exception as exc:
            self._device_log("error", f"Failed to unplug block device: {exc}")
            raise
