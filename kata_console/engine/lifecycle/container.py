"""A container's lifecycle, as Go's `virtcontainers/container.go` runs it (reference §1.5).

Each operation checks Go's preconditions first, with Go's texts, and only then does
anything. Every agent RPC and every hot-plug is a step (`events.Step`) so that the
console can show, and hold, exactly what is about to happen. `stop` keeps Go's order
(kill -> wait -> RemoveContainer -> unshare mounts -> unshare rootfs -> remove stale
virtio-fs mounts -> detach devices -> remove drive -> stopped) and Go's force rule: with
`force`, every step's error is logged and skipped, except the final state save.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import signal as _signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kata_console.engine import errors as E
from kata_console.engine.deviceinfo import DeviceInfo
from kata_console.engine.errors import DeviceNotAttached, DeviceNotExist
from kata_console.engine.lifecycle import guest
from kata_console.engine.lifecycle import states as S
from kata_console.engine.lifecycle.blockrootfs import hotplug_drive
from kata_console.engine.lifecycle.containerops import ContainerOps
from kata_console.engine.lifecycle.devices import ContainerDevice, is_filtered_major
from kata_console.engine.lifecycle.events import STATE, acting_for, rpc_text
from kata_console.engine.lifecycle.persistdocs import container_config_doc
from kata_console.engine.mounts.rootfs import RootFs
from kata_console.engine.persist import api
from kata_console.engine.persist.gojson import Fragment, encode
from kata_console.engine.ports import CreateContainerRequest

if TYPE_CHECKING:
    from kata_console.engine.lifecycle.sandbox import Sandbox


@dataclass(slots=True)
class ContainerConfig:
    """What a container is created from (Go `ContainerConfig`, the parts the engine uses)."""

    id: str
    rootfs: RootFs = field(default_factory=RootFs)
    devices: list[DeviceInfo] = field(default_factory=list)
    annotations: dict[str, str] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Process:
    """Go `Process`: `token` is the exec id (the container id for init), pid is always -1."""

    token: str = ""
    pid: int = -1
    start_time: _dt.datetime | None = None
    #: the StartTime text read from persist.json (Go keeps nanoseconds; datetime cannot)
    start_time_text: str | None = field(default=None, compare=False)


class Container(ContainerOps):
    """One container of a sandbox. Create it through `Sandbox.create_container`."""

    def __init__(self, sandbox: Sandbox, config: ContainerConfig) -> None:
        self.sandbox = sandbox
        self.config = config
        self.id = config.id
        self.state: str = S.EMPTY
        self.devices: list[ContainerDevice] = []
        self.process = Process()
        self.block_device_id = ""
        self.fstype = ""
        self.mounts: list[dict[str, Any]] | None = None
        self.cgroup_path = ""
        #: the ContainerState read from persist.json, kept under what the engine writes
        self.persisted: dict[str, Any] | None = None
        #: the `Config.ContainerConfigs` entry read for it (restore)
        self.persisted_config: dict[str, Any] | None = None
        self._attached: list[str] = []  # devices this create attached (for its rollback)
        self._config_fragment: Fragment | None = None
        #: (device references, their encoded DeviceMaps), kept by lifecycle.persistdocs
        self.maps_cache: tuple[Any, Fragment] | None = None
        #: (what the file shows but its state, the text around the state), ditto
        self.text_cache: tuple[Any, tuple[str, str]] | None = None

    # ------------------------------------------------------------------ plumbing
    @property
    def rootfs(self) -> RootFs:
        return self.config.rootfs

    def _step(self, description: str) -> Any:
        return self.sandbox.bus.step(description, sandbox=self.sandbox.id, container=self.id)

    def log(self, level: str, message: str, subsystem: str = "container", **fields: Any) -> None:
        self.sandbox.bus.log(
            level,
            message,
            subsystem=subsystem,
            sandbox=self.sandbox.id,
            container=self.id,
            **fields,
        )

    def touch(self) -> None:
        self.sandbox.mark_container_dirty(self.id)

    def config_fragment(self) -> Fragment:
        """This container's `Config.ContainerConfigs` entry, encoded once per change."""
        if self._config_fragment is None:
            self._config_fragment = Fragment(
                encode(api.CONTAINER_CONFIG, container_config_doc(self))
            )
        return self._config_fragment

    async def set_state(self, state: str) -> None:
        """Go `setContainerState`: refuse "", change, save (its error is the caller's)."""
        S.check_settable(state)
        old, self.state = self.state, state
        self.touch()
        self.sandbox.bus.emit(
            STATE,
            f"container {self.id}: {S.state_label(old)} -> {state}",
            self.sandbox.id,
            self.id,
            fields={"old": old, "new": state},
        )
        await self.sandbox.save()

    def _sandbox_running(self, verb: str) -> None:
        """Go `checkSandboxRunning`."""
        if not verb:
            raise E.PreconditionError(E.CMD_EMPTY)
        if self.sandbox.state != S.RUNNING:
            raise E.PreconditionError(E.SANDBOX_NOT_RUNNING_VERB % verb)

    def _need(self, allowed: tuple[str, ...], text: str) -> None:
        if self.state not in allowed:
            raise E.PreconditionError(text)

    async def _rpc(self, name: str, call: Callable[[], Awaitable[Any]], **fields: Any) -> Any:
        async with self._step(rpc_text(name, **fields)):
            return await call()

    # ------------------------------------------------------------------ newContainer
    def create_devices(self, erofs: list[DeviceInfo]) -> None:
        """Go `createDevices`: EROFS layers first, NewDevice for each (refcount +1), then
        CD-ROM/floppy filtering. Improvement over Go: if a NewDevice fails, the references
        already taken are dropped again instead of leaking."""
        manager = self.sandbox.devices
        taken: list[ContainerDevice] = []
        try:
            for info in [*erofs, *self.config.devices]:
                dev = manager.new_device(info)
                taken.append(
                    ContainerDevice(dev.id, info.container_path, info.file_mode, info.uid, info.gid)
                )
        except E.EngineError:
            for cd in taken:
                with contextlib.suppress(E.DeviceError):
                    manager.remove_device(cd.id)
            raise
        kept = []
        for cd in taken:
            dev = manager.get_device_by_id(cd.id)
            why = is_filtered_major(dev.info.major) if dev is not None else None
            if why:
                self.log("info", why, device=cd.container_path)
                continue
            kept.append(cd)
        self.devices = kept

    # ------------------------------------------------------------------ create
    async def create(self) -> None:
        """Go `create`: [hotplugDrive] -> attach devices -> agent CreateContainer -> ready.
        Any failure runs `rollbackFailingContainerCreation` before it is returned."""
        token = acting_for.set(self.id)
        try:
            erofs = self.sandbox.is_erofs(self.rootfs)
            if self.sandbox.block_device_support() and not erofs:
                await self._hotplug_drive()
            self.log("info", "Attach devices", devices=[cd.id for cd in self.devices])
            self._attached = []
            for cd in self.devices:
                await self.sandbox.devices.attach_device(cd.id, self.sandbox)
                self._attached.append(cd.id)
            await self._agent_create(erofs)
            await self.set_state(S.READY)
        except BaseException as exc:
            self.log("error", f"container create failed: {exc}")
            await self._rollback_create()
            raise
        finally:
            acting_for.reset(token)

    async def _agent_create(self, erofs: bool) -> None:
        sb = self.sandbox
        pairs = [
            (sb.devices.devices[cd.id], cd.container_path)
            for cd in self.devices
            if cd.id in sb.devices.devices
        ]
        driver = sb.devices.block_driver
        storages: list[Any] = []
        if erofs:
            storages, rewrites = guest.erofs_storages(self.id, pairs, driver)
            for cd in self.devices:
                cd.container_path = rewrites.get(cd.id, cd.container_path)
            pairs = [(d, rewrites.get(d.id, p)) for d, p in pairs]
            root = guest.guest_rootfs_path(self.id, erofs=True)
        elif self.fstype:
            dev = sb.devices.get_device_by_id(self.block_device_id)
            if dev is not None and dev.drive is not None:
                storages = [guest.block_rootfs_storage(self.id, dev, driver, self.fstype)]
            root = guest.guest_rootfs_path(self.id)
        else:
            source = self.rootfs.target if self.rootfs.mounted else self.rootfs.source
            async with self._step(
                f"share rootfs {source or '-'} -> {guest.host_rootfs_share_path(sb.id, self.id)}"
            ):
                await sb.fs_share.share_rootfs(sb.id, self.id, source)
            root = guest.guest_rootfs_path(self.id)
        request = CreateContainerRequest(
            container_id=self.id,
            exec_id=self.id,
            storages=storages,
            devices=guest.agent_devices(pairs, driver),
            oci=guest.oci_spec(
                self.id, root, self.config.annotations, self.config.resources.get("memory")
            ),
        )
        try:
            await self._rpc(
                "CreateContainer",
                lambda: sb.agent.create_container(request),
                container_id=self.id,
                exec_id=self.id,
                storages=len(request.storages),
                devices=len(request.devices),
            )
        except BaseException as exc:  # Go: kataAgent.rollbackFailingContainerCreation
            self.log("error", f"createContainer failed: {exc}", "kata_agent")
            await self._logged("unmountHostMounts()", self._unshare_mounts)
            await self._logged("UnshareRootfs()", self._unshare_rootfs)
            raise
        self.process = Process(self.id, -1, sb.clock.now())
        self.touch()

    async def _logged(self, what: str, fn: Callable[[], Awaitable[None]]) -> None:
        try:
            await fn()
        except Exception as exc:
            self.log("error", f"rollback failed {what}: {exc}")

    async def _rollback_create(self) -> None:
        """Go `rollbackFailingContainerCreation`: every step only logs its error.

        Deliberate improvement: Go's detachDevices here also detaches devices this container
        never attached, which unplugs a layer still used by a running container that shares
        it. Only what this create attached is detached; every reference it took is dropped,
        so refcounts and attach counts go back to where they were."""
        await self._logged("detachDevices()", self._rollback_devices)
        await self._logged("removeDrive()", self.remove_drive)
        await self._logged("unmountHostMounts()", self._unshare_mounts)
        await self._logged("UnshareRootFilesystem()", self._unshare_rootfs)

    async def _unshare_mounts(self) -> None:
        async with self._step(f"unshare mounts of {self.id}"):
            await self.sandbox.fs_share.unshare_mounts(self.sandbox.id, self.id)

    async def _unshare_rootfs(self) -> None:
        async with self._step(
            f"unshare rootfs {guest.host_rootfs_share_path(self.sandbox.id, self.id)}"
        ):
            await self.sandbox.fs_share.unshare_rootfs(self.sandbox.id, self.id)

    # ------------------------------------------------------------------ block rootfs
    async def _hotplug_drive(self) -> None:
        await hotplug_drive(self)

    async def remove_drive(self) -> None:
        """Go `removeDrive`: only when the rootfs was a plugged drive (`fstype` set)."""
        if not self.fstype:
            return
        self.log("info", E.UNPLUG_DRIVE)
        await self._detach_remove(self.block_device_id)

    async def _rollback_devices(self) -> None:
        attached = set(self._attached)
        for cd in self.devices:
            if cd.shared:
                continue
            if cd.id in attached:
                await self._detach_remove(cd.id)
                continue
            self._remove_device(cd.id)

    async def _detach_remove(self, dev_id: str) -> None:
        """Go: DetachDevice (only ErrDeviceNotAttached ignored), then RemoveDevice
        (ErrDeviceNotExist ignored and logged)."""
        manager = self.sandbox.devices
        with contextlib.suppress(DeviceNotAttached):
            await manager.detach_device(dev_id, self.sandbox)
        self._remove_device(dev_id)

    def _remove_device(self, dev_id: str) -> None:
        """Go logs every RemoveDevice error and carries on only after ErrDeviceNotExist."""
        try:
            self.sandbox.devices.remove_device(dev_id)
        except E.DeviceError as exc:
            self.log("error", f"{E.REMOVE_DEVICE_FAILED}: {exc}", **{"device-id": dev_id})
            if not isinstance(exc, DeviceNotExist):
                raise

    async def detach_devices(self) -> None:
        """Go `detachDevices`: detach (not-attached ignored) and remove (not-exist ignored)
        each device, skipping shared ones; the first other error stops it."""
        for cd in self.devices:
            if cd.shared:
                continue
            await self._detach_remove(cd.id)

    # ------------------------------------------------------------------ start / stop
    async def start(self) -> None:
        self._sandbox_running("start")
        self._need((S.READY, S.STOPPED), E.START_STATE)
        S.valid_transition(self.state, self.state, S.RUNNING)
        try:
            await self._rpc(
                "StartContainer",
                lambda: self.sandbox.agent.start_container(self.id),
                container_id=self.id,
            )
        except BaseException as exc:
            self.log("error", f"Failed to start container: {exc}")
            try:
                await self.stop(force=True)
            except Exception as stop_exc:
                self.log("warning", f"Failed to stop container: {stop_exc}")
            raise
        await self.set_state(S.RUNNING)

    async def stop(self, force: bool = False) -> None:
        token = acting_for.set(self.id)
        try:
            await self._stop(force)
        finally:
            acting_for.reset(token)

    async def _stop(self, force: bool) -> None:
        if self.state == S.STOPPED:
            self.log("info", "Container already stopped")
            return
        try:
            S.valid_transition(self.state, self.state, S.STOPPED)
        except S.StateError as exc:
            if not force:
                raise
            self.log("warning", f"{E.FORCE_STOP}: {exc}")
        try:  # Go ignores both results: the kill may race the process's own exit
            await self.kill(_signal.SIGKILL, all_processes=True)
        except Exception as exc:
            self.log("debug", f"stop: kill ignored: {exc}")
        try:
            await self._rpc(
                "WaitProcess",
                lambda: self.sandbox.agent.wait_process(self.id, self.id),
                container_id=self.id,
                exec_id=self.id,
            )
        except Exception as exc:
            self.log("debug", f"stop: wait ignored: {exc}")
        try:
            steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
                (
                    "RemoveContainer",
                    lambda: self._rpc(
                        "RemoveContainer",
                        lambda: self.sandbox.agent.remove_container(self.id, 0),
                        container_id=self.id,
                        timeout=0,
                    ),
                ),
                ("unmountHostMounts", self._unshare_mounts),
                ("UnshareRootFilesystem", self._unshare_rootfs),
                (
                    "RemoveStaleVirtiofsShareMounts",
                    lambda: self._rpc(
                        "RemoveStaleVirtiofsShareMounts",
                        self.sandbox.agent.remove_stale_virtiofs_share_mounts,
                    ),
                ),
                ("detachDevices", self.detach_devices),
                ("removeDrive", self.remove_drive),
            ]
            for name, run in steps:
                try:
                    await run()
                except Exception as exc:
                    if not force:
                        raise
                    self.log("warning", f"force stop: {name} failed, continuing: {exc}")
            await self.set_state(S.STOPPED)
        finally:
            try:
                await self.sandbox.save()
            except Exception as exc:
                self.log("info", f"Save container state failed: {exc}")
