"""The `Sandbox.*Container` wrappers (Go `VC/sandbox.go`): container lookup, the call into
the container, then the save; and `operation`, which coalesces the saves Go makes along
the way into one per public operation.
"""

from __future__ import annotations

import dataclasses
import functools
import signal as _signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from kata_console.engine import errors as E
from kata_console.engine.ids import validate_id
from kata_console.engine.lifecycle.container import Container, ContainerConfig
from kata_console.engine.lifecycle.containerops import swap_resources
from kata_console.engine.lifecycle.states import RUNNING

if TYPE_CHECKING:
    pass

T = TypeVar("T")


def operation(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """A public sandbox operation: the saves Go makes along the way (each
    `setContainerState`, stop's deferred save) are coalesced into one at the end, which
    also runs when the operation fails. Wrappers that must see their own save's error
    (CreateContainer's rollback) save with `final=True`."""

    @functools.wraps(fn)
    async def run(self: Any, *args: Any, **kwargs: Any) -> T:
        self._depth += 1
        try:
            result = await fn(self, *args, **kwargs)
        except BaseException:
            self._depth -= 1
            if self._depth == 0 and self._save_pending:
                try:
                    await self._flush()
                except Exception as exc:
                    self.log("warning", f"Save sandbox failed: {exc}")
            raise
        self._depth -= 1
        if self._depth == 0 and self._save_pending:
            await self._flush()
        return result

    return run


class ContainerWrappers:
    """Mixin of `Sandbox`."""

    if TYPE_CHECKING:
        id: str
        state: str
        containers: dict[str, Container]
        orphan_configs: list[dict[str, Any]]
        _dirty: bool
        _dirty_containers: set[str]

        def log(self, level: str, message: str, **fields: Any) -> None: ...
        def find_container(self, container_id: str) -> Container: ...
        def erofs_devices(self, rootfs: Any) -> list[Any]: ...
        async def save(self, *, final: bool = False) -> None: ...

    @operation
    async def create_container(self, config: ContainerConfig) -> Container:
        """Go `Sandbox.CreateContainer`, in Go's order of refusals: an empty ID (`valid()`),
        the ID rule (Go's shim checks it first, with `VerifyContainerID`), the swap
        annotations. Improvement: a duplicate is refused here, before any device is
        created or plugged (Go finds it after the guest already refused it)."""
        if not config.id:
            raise E.PreconditionError(E.INVALID_CONTAINER_CONFIG)
        validate_id("container", config.id)
        resources = swap_resources(config.annotations, config.resources)
        if config.id in self.containers or any(
            cfg["ID"] == config.id for cfg in self.orphan_configs
        ):  # Go restored a container for every config entry, so it is a duplicate there too
            raise E.PreconditionError(E.DUPLICATED_CONTAINER % config.id)
        config = dataclasses.replace(config, devices=list(config.devices), resources=resources)
        c = Container(self, config)  # type: ignore[arg-type]
        c.create_devices(self.erofs_devices(config.rootfs))
        await c.create()
        self.containers[c.id] = c
        self.configs_changed(c.id)
        self._dirty_containers.add(c.id)
        try:
            await self.save(final=True)
        except BaseException as exc:
            self.log(
                "error",
                f"Cleaning up partially created container: {exc}",
                container=c.id,
                rollback=True,
            )
            try:
                await c.stop(force=True)
            except Exception as stop_exc:
                self.log(
                    "error", f"Could not stop container: {stop_exc}", container=c.id, rollback=True
                )
            if c.id in self.containers:
                self.remove_container(c.id)  # its directory goes with the next save
            raise
        return c

    @operation
    async def start_container(self, container_id: str) -> Container:
        c = self.find_container(container_id)
        await c.start()
        await self.save()
        self.log("info", "Container is started", container=container_id)
        return c

    @operation
    async def stop_container(self, container_id: str, force: bool = False) -> Container:
        c = self.find_container(container_id)
        await c.stop(force)
        return c

    @operation
    async def delete_container(self, container_id: str) -> Container:
        if not container_id:
            raise E.NotFoundError(E.NEED_CONTAINER_ID)
        c = self.find_container(container_id)
        await c.delete()
        await self.save()
        return c

    @operation
    async def kill_container(
        self, container_id: str, sig: int, all_processes: bool = False
    ) -> None:
        """Go `KillContainer`: SIGKILL never fails, whatever the signal's result was."""
        c = self.find_container(container_id)
        try:
            await c.kill(sig, all_processes)
        except Exception:
            if sig == _signal.SIGKILL:
                return
            raise

    @operation
    async def pause_container(self, container_id: str) -> None:
        await self.find_container(container_id).pause()
        await self.save()

    @operation
    async def resume_container(self, container_id: str) -> None:
        await self.find_container(container_id).resume()
        await self.save()

    @operation
    async def enter_container(self, container_id: str, process: dict[str, Any]) -> str:
        return await self.find_container(container_id).enter(process)

    @operation
    async def wait_process(self, container_id: str, exec_id: str) -> int:
        if self.state != RUNNING:
            raise E.PreconditionError(E.SANDBOX_NOT_RUNNING)
        return await self.find_container(container_id).wait(exec_id)

    @operation
    async def winsize_process(
        self, container_id: str, exec_id: str, height: int, width: int
    ) -> None:
        if self.state != RUNNING:
            raise E.PreconditionError(E.SANDBOX_NOT_RUNNING)
        await self.find_container(container_id).winsize(exec_id, height, width)

    @operation
    async def update_container(self, container_id: str, resources: dict[str, Any]) -> None:
        await self.find_container(container_id).update(resources)
        await self.save()

    @operation
    async def stats_container(self, container_id: str) -> dict[str, Any]:
        return await self.find_container(container_id).stats()

    def status_container(self, container_id: str) -> str:
        """Go `StatusContainer`: "Container ID cannot be empty", then the bare "Container
        does not exist" (no lookup text, unlike the other wrappers)."""
        if not container_id:
            raise E.NotFoundError(E.NEED_CONTAINER_ID)
        c = self.containers.get(container_id)
        if c is None:
            raise E.NotFoundError(E.NO_SUCH_CONTAINER)
        return c.state
