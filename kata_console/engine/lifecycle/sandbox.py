"""A sandbox (pod VM) and its container registry, as Go's `virtcontainers/sandbox.go` runs
them (reference §1.4): create (VM start, Check, CreateSandbox, GetGuestDetails), start,
stop(force), delete, the block index map, the device receiver side of hot-plug, and the
`Sandbox.*Container` wrappers with their lookups and saves.

Everything the outside world does for the sandbox comes in through ports (agent,
hypervisor, host view, fs share, clock, ids, persist store); the engine never constructs a
backend. A deleted sandbox returns to the empty state and may be created again.
"""

from __future__ import annotations

import datetime as _dt
import errno
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kata_console.engine import errors as E
from kata_console.engine.clock import SystemClock
from kata_console.engine.deviceinfo import DeviceInfo
from kata_console.engine.gofmt import go_quote
from kata_console.engine.ids import RandomIds
from kata_console.engine.lifecycle import states as S
from kata_console.engine.lifecycle.container import Container
from kata_console.engine.lifecycle.devices import (
    DeviceManager,
    DeviceRow,
)
from kata_console.engine.lifecycle.events import STATE, EventBus, Stepper, rpc_text
from kata_console.engine.lifecycle.monitor import DEFAULT_CHECK_INTERVAL, Monitor, Watcher
from kata_console.engine.lifecycle.persistfile import SandboxDocument
from kata_console.engine.lifecycle.receiver import DeviceReceiverSide
from kata_console.engine.lifecycle.sandboxops import ContainerWrappers, operation
from kata_console.engine.lifecycle.sandboxstore import save_sandbox
from kata_console.engine.lifecycle.sim import SimFsShare
from kata_console.engine.mounts.rootfs import RootFs, create_erofs_devices, is_erofs_rootfs
from kata_console.engine.persist.api import CUR_PERSIST_VERSION
from kata_console.engine.persist.store import PersistStore, validate_id
from kata_console.engine.ports import (
    Agent,
    Clock,
    CreateSandboxRequest,
    HostView,
    Hypervisor,
    IdSource,
)

ErofsDevices = Callable[[RootFs, HostView], list[DeviceInfo]]


@dataclass(slots=True)
class SandboxConfig:
    """The parts of Go's `SandboxConfig` the engine uses."""

    id: str
    hypervisor_type: str = "sim"
    block_device_driver: str = "virtio-scsi"
    shared_fs: str = "virtio-fs"
    disable_block_device_use: bool = False
    hostname: str = ""


class _NoHost:
    """A sandbox given no host view has no mount table to read: EROFS detection goes by
    path names only, and an EROFS rootfs fails as Kata fails when it cannot read its
    mount table (never silently without its layer devices)."""

    MOUNTINFO = "/proc/self/mountinfo"

    def statfs_type(self, path: str) -> int:
        raise OSError(errno.ENOENT, "no host view", path)

    def read_mountinfo(self, pid: int | None = None) -> str:
        raise OSError(errno.ENOENT, "no host view", self.MOUNTINFO)


class Sandbox(ContainerWrappers, DeviceReceiverSide):
    """One sandbox. Construct, then `await create()`; see `kata_console.engine` for wiring."""

    def __init__(
        self,
        config: SandboxConfig,
        *,
        agent: Agent,
        hypervisor: Hypervisor,
        host: HostView | None = None,
        store: PersistStore | None = None,
        clock: Clock | None = None,
        ids: IdSource | None = None,
        bus: EventBus | None = None,
        stepper: Stepper | None = None,
        fs_share: Any = None,
        erofs_devices: ErofsDevices | None = None,
    ) -> None:
        self.id = validate_id("sandbox", config.id)
        self.config = config
        self.agent = agent
        self.hypervisor = hypervisor
        self.host = host
        self.store = store
        self.clock: Clock = clock or (bus.clock if bus else SystemClock())
        self.ids: IdSource = ids or RandomIds()
        self.bus = bus or EventBus(clock=self.clock, stepper=stepper)
        self.fs_share = fs_share or SimFsShare()
        self._erofs_devices = erofs_devices
        self.state: str = S.EMPTY
        self.containers: dict[str, Container] = {}
        self.devices = DeviceManager(config.block_device_driver, ids=self.ids)
        self.block_index_map: set[int] = set()
        #: bumped when the block index map or the container configs change (persist cache)
        self.block_index_rev = 0
        #: indexes taken or freed since the document last looked (None: rebuild it)
        self.block_index_changed: set[int] | None = None
        self.configs_rev = 0
        #: containers whose config entry must be re-encoded at the next save
        self.configs_dirty: dict[str, None] = {}
        #: config entries read at restore for containers with no state (kept as read)
        self.orphan_configs: list[dict[str, Any]] = []
        self.agent_url = ""
        self.guest_memory_block_size_mb = 0
        self.persist_version = CUR_PERSIST_VERSION
        self.created: _dt.datetime | None = None
        #: the persist.json document (read at restore, or made at the first save)
        self.document: SandboxDocument | None = None
        #: the text last written to each file ("" the sandbox's, else a container id)
        self._written: dict[str, Any] = {}
        self._dirty = True
        self._dirty_containers: set[str] = set()
        self._removed: set[str] = set()
        self._saved_devices_rev = -1
        self._depth = 0
        self._save_pending = False
        self._monitor: Monitor | None = None

    # ------------------------------------------------------------------ plumbing
    def log(self, level: str, message: str, **fields: Any) -> None:
        self.bus.log(level, message, subsystem="sandbox", sandbox=self.id, **fields)

    def _step(self, description: str) -> Any:
        return self.bus.step(description, sandbox=self.id)

    def mark_dirty(self) -> None:
        self._dirty = True

    def configs_changed(self, container_id: str) -> None:
        """A container joined or left, or its config changed: re-encode its entry."""
        self.configs_dirty[container_id] = None
        self.configs_rev += 1
        self._dirty = True

    def mark_container_dirty(self, container_id: str) -> None:
        self._dirty_containers.add(container_id)

    def new_exec_id(self) -> str:
        """Go generates a UUID for each exec."""
        h = self.ids.token_hex(16)
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"

    def block_device_support(self) -> bool:
        """Go `checkBlockDeviceSupport` (the agent and hypervisor ports always can)."""
        return not self.config.disable_block_device_use

    def is_erofs(self, rootfs: RootFs) -> bool:
        return is_erofs_rootfs(rootfs, self.host or _NoHost())  # type: ignore[arg-type]

    def erofs_devices(self, rootfs: RootFs) -> list[DeviceInfo]:
        """Go `createErofsDevices` against the sandbox's host view (the live kernel or a
        recording); its errors are Kata's texts. An EROFS rootfs is never given no layer
        devices: without a host view the create fails like Kata without a mount table."""
        if self._erofs_devices is not None:
            return self._erofs_devices(rootfs, self.host)  # type: ignore[arg-type]
        return create_erofs_devices(rootfs, self.host or _NoHost())  # type: ignore[arg-type]

    def _set_state(self, state: str) -> None:
        """Go `setSandboxState`: in memory only (no save)."""
        S.check_settable(state)
        old, self.state = self.state, state
        self._dirty = True
        self.bus.emit(
            STATE,
            f"sandbox {self.id}: {S.state_label(old)} -> {state}",
            self.id,
            fields={"old": old, "new": state},
        )

    # ------------------------------------------------------------------ persistence
    async def save(self, *, final: bool = False) -> None:
        """Go `Sandbox.Save`: write what changed since the last save (see sandboxstore).
        Inside an operation the write is deferred to its end unless `final`."""
        if self.store is None:
            return
        if self._depth > 0 and not final:
            self._save_pending = True
            return
        await self._flush()

    async def _flush(self) -> None:
        self._save_pending = False
        if self.store is not None:
            await save_sandbox(self, self.store)

    # ------------------------------------------------------------------ health monitor
    def monitor(self, interval: float = DEFAULT_CHECK_INTERVAL) -> Watcher:
        """Go `Sandbox.Monitor` (the shim calls it once the sandbox started): a queue that
        receives each failed health check; only a running sandbox is watched."""
        if self.state != S.RUNNING:
            raise E.PreconditionError(E.SANDBOX_NOT_RUNNING)
        if self._monitor is None:
            self._monitor = Monitor(self, interval)
        return self._monitor.new_watcher()

    @property
    def monitoring(self) -> bool:
        """True while its health monitor ticks (it tells its watchers failures only)."""
        return self._monitor is not None and self._monitor.running

    async def stop_monitor(self) -> None:
        """Go `monitor.stop` (from `Delete` and `Release`)."""
        if self._monitor is not None:
            await self._monitor.stop()

    # ------------------------------------------------------------------ registry
    def find_container(self, container_id: str) -> Container:
        if not container_id:
            raise E.NotFoundError(E.NEED_CONTAINER_ID)
        c = self.containers.get(container_id)
        if c is None:
            raise E.NotFoundError(E.FIND_CONTAINER % (go_quote(container_id), go_quote(self.id)))
        return c

    def remove_container(self, container_id: str) -> None:
        if self.containers.pop(container_id, None) is None:
            raise E.NotFoundError(E.REMOVE_CONTAINER % (go_quote(container_id), go_quote(self.id)))
        self._dirty_containers.discard(container_id)
        self._removed.add(container_id)
        self.configs_changed(container_id)

    def device_rows(self) -> list[DeviceRow]:
        return self.devices.rows()

    # ------------------------------------------------------------------ sandbox lifecycle
    @operation
    async def create(self) -> None:
        """Go `createSandboxFromConfig`: ready (in memory) -> start VM -> Check ->
        CreateSandbox -> GetGuestDetails -> save. A failure stops the VM and deletes."""
        if self.state != S.EMPTY:
            raise E.PreconditionError(E.SANDBOX_ALREADY_CREATED % (go_quote(self.id), self.state))
        if self.store is not None and self.store.has_sandbox(self.id):
            # Go would restore it; creating over it would overwrite (or, on a failed create,
            # remove) a live sandbox's state and shim socket. Refuse before any side effect.
            raise E.PreconditionError(
                E.SANDBOX_EXISTS_ON_DISK % (go_quote(self.id), self.store.sandbox_dir(self.id))
            )
        self.created = self.clock.now()
        self._set_state(S.READY)
        vm_up = False
        try:
            await self._start_vm()  # on failure it stops the hypervisor itself (Go: StopVM)
            vm_up = True
            details = await self._rpc("GetGuestDetails", self.agent.get_guest_details)
            self.guest_memory_block_size_mb = details.mem_block_size_bytes >> 20
            self.agent_url = self.hypervisor.agent_url()
            await self.save(final=True)  # its error must roll back too (Go: storeSandbox)
        except BaseException as exc:
            self.log("error", f"create sandbox failed: {exc}")
            self._save_pending = False
            if vm_up:  # Go: failures after startVM call stopVM
                await self._stop_vm(force=True)
            try:
                await self.delete()
            except Exception as del_exc:
                self.log("warning", f"rollback delete failed: {del_exc}")
            raise

    async def _rpc(self, name: str, call: Callable[[], Any], **fields: Any) -> Any:
        async with self._step(rpc_text(name, **fields)):
            return await call()

    async def _start_vm(self) -> None:
        try:
            async with self._step(f"start VM ({self.config.hypervisor_type})"):
                await self.hypervisor.start_vm(self.id)
        except BaseException:
            await self._stop_hypervisor(force=True)
            raise
        try:
            await self._rpc("Check", self.agent.check)
            request = CreateSandboxRequest(
                sandbox_id=self.id, hostname=self.config.hostname or self.id
            )
            await self._rpc(
                "CreateSandbox", lambda: self.agent.create_sandbox(request), sandbox_id=self.id
            )
        except BaseException:
            # These RPCs are part of Go's startVM, whose failure only stops the hypervisor:
            # there is no guest sandbox to destroy yet.
            await self._stop_hypervisor(force=True)
            raise

    async def _stop_hypervisor(self, force: bool) -> None:
        try:
            async with self._step(f"stop VM ({self.config.hypervisor_type})"):
                await self.hypervisor.stop_vm()
        except Exception as exc:
            if not force:
                raise
            self.log("warning", f"stop VM failed, ignored (force): {exc}")

    async def _stop_vm(self, force: bool) -> None:
        """Go `stopVM`: DestroySandbox (error only logged), then the hypervisor."""
        self.log("info", "Stopping sandbox in the VM")
        try:
            await self._rpc("DestroySandbox", self.agent.destroy_sandbox)
        except Exception as exc:
            self.log("warning", f"Agent did not stop sandbox: {exc}", sandboxid=self.id)
        self.log("info", "Stopping VM")
        await self._stop_hypervisor(force)

    @operation
    async def start(self) -> None:
        S.valid_transition(self.state, self.state, S.RUNNING)
        prev = self.state
        self._set_state(S.RUNNING)
        for c in list(self.containers.values()):
            try:
                await c.start()
            except BaseException:
                self._set_state(prev)
                raise
        await self.save()
        self.log("info", "Sandbox is started")

    @operation
    async def stop(self, force: bool = False) -> None:
        if self.state == S.STOPPED:
            self.log("info", "sandbox already stopped")
            return
        S.valid_transition(self.state, self.state, S.STOPPED)
        for c in list(self.containers.values()):
            await c.stop(force)
        await self._stop_vm(force)
        self._set_state(S.STOPPED)
        await self.save()

    @operation
    async def delete(self) -> None:
        if self.state not in (S.READY, S.PAUSED, S.STOPPED):
            raise E.PreconditionError(E.SANDBOX_DELETE)
        for c in list(self.containers.values()):
            try:
                await c.delete()
            except Exception as exc:
                self.log("debug", f"failed to delete container: {exc}", container=c.id)
        await self.stop_monitor()
        if self.store is not None:
            async with self.bus.step(f"remove {self.store.root}/{self.id}", sandbox=self.id):
                self.store.destroy(self.id)
        self._save_pending = False  # nothing of this sandbox may be written again
        self._set_state_after_delete()

    def _set_state_after_delete(self) -> None:
        old = self.state
        self.containers.clear()
        self.orphan_configs = []
        self.devices = DeviceManager(self.config.block_device_driver, ids=self.ids)
        self.block_index_map = set()
        self.block_index_rev += 1
        self.block_index_changed = None
        self.configs_rev += 1
        self.state = S.EMPTY
        self._dirty, self._dirty_containers, self._removed = True, set(), set()
        self._saved_devices_rev = -1
        self.document, self._written = None, {}
        self.bus.emit(
            STATE,
            f"sandbox {self.id}: {S.state_label(old)} -> deleted",
            self.id,
            fields={"old": old, "new": S.EMPTY},
        )
