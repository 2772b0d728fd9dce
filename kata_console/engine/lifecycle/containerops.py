"""The container operations that only ask the agent (reference §1.5): delete, enter/exec,
wait, kill/signal, winsize, stats, update, pause, resume. Each checks Go's preconditions,
with Go's texts, before its single RPC; kept apart from the create/stop sequences in
`container.py`, which drive devices and rollbacks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from kata_console.engine import errors as E
from kata_console.engine.gofmt import GoNumError, go_int64, parse_uint
from kata_console.engine.lifecycle import guest
from kata_console.engine.lifecycle import states as S
from kata_console.engine.ports import AgentError

if TYPE_CHECKING:
    from kata_console.engine.lifecycle.container import ContainerConfig, Process
    from kata_console.engine.lifecycle.sandbox import Sandbox


class ContainerOps:
    """Mixin of `Container`; the attributes below are the container's."""

    if TYPE_CHECKING:
        id: str
        state: str
        sandbox: Sandbox
        config: ContainerConfig
        process: Process
        _config_fragment: Any

        def log(self, level: str, message: str, subsystem: str = ..., **fields: Any) -> None: ...
        async def set_state(self, state: str) -> None: ...
        def _sandbox_running(self, verb: str) -> None: ...
        def _need(self, allowed: tuple[str, ...], text: str) -> None: ...
        async def _rpc(
            self, name: str, call: Callable[[], Awaitable[Any]], **fields: Any
        ) -> Any: ...

    async def delete(self) -> None:
        self._need((S.READY, S.STOPPED), E.DELETE_STATE)
        self.sandbox.remove_container(self.id)
        await self.sandbox.save()

    async def enter(self, process: dict[str, Any]) -> str:
        self._sandbox_running("enter")
        self._need((S.READY, S.RUNNING), E.ENTER_STATE)
        exec_id = self.sandbox.new_exec_id()
        await self._rpc(
            "ExecProcess",
            lambda: self.sandbox.agent.exec_process(self.id, exec_id, process),
            container_id=self.id,
            exec_id=exec_id,
        )
        return exec_id

    async def wait(self, exec_id: str) -> int:
        self._need((S.READY, S.RUNNING), E.WAIT_STATE)
        return int(
            await self._rpc(
                "WaitProcess",
                lambda: self.sandbox.agent.wait_process(self.id, exec_id),
                container_id=self.id,
                exec_id=exec_id,
            )
        )

    async def kill(self, sig: int, all_processes: bool = False) -> None:
        await self.signal_process(self.process.token, sig, all_processes)

    async def signal_process(self, exec_id: str, sig: int, all_processes: bool) -> None:
        if self.sandbox.state not in (S.READY, S.RUNNING):
            raise E.PreconditionError(E.SIGNAL_SANDBOX_STATE)
        self._need((S.READY, S.RUNNING, S.PAUSED), E.SIGNAL_STATE)
        target = "" if all_processes else exec_id
        try:
            await self._rpc(
                "SignalProcess",
                lambda: self.sandbox.agent.signal_process(self.id, target, int(sig)),
                container_id=self.id,
                exec_id=target,
                signal=int(sig),
            )
        except AgentError as exc:
            if E.ESRCH not in str(exc):
                raise
            self.log(
                "warning",
                "signal encounters ESRCH, process already finished",
                **{"process-id": exec_id},
            )

    async def winsize(self, exec_id: str, height: int, width: int) -> None:
        self._need((S.READY, S.RUNNING), E.WINSIZE_STATE)
        await self._rpc(
            "TtyWinResize",
            lambda: self.sandbox.agent.tty_win_resize(self.id, exec_id, height, width),
            container_id=self.id,
            exec_id=exec_id,
            row=height,
            column=width,
        )

    async def stats(self) -> dict[str, Any]:
        """Go converts only `cgroup_stats`; network stats are dropped."""
        self._sandbox_running("stats")
        result = await self._rpc(
            "StatsContainer",
            lambda: self.sandbox.agent.stats_container(self.id),
            container_id=self.id,
        )
        return {"cgroup_stats": dict(result).get("cgroup_stats")}

    async def update(self, resources: dict[str, Any]) -> None:
        self._sandbox_running("update")
        if self.state not in (S.RUNNING, S.READY):
            raise E.PreconditionError(E.UPDATE_STATE % self.state)
        merged = guest.merge_resources(self.config.resources, resources)
        self.config.resources = merged
        self._config_fragment = None
        self.sandbox.configs_changed(self.id)
        guest_resources = guest.guest_resources(resources)
        await self._rpc(
            "UpdateContainer",
            lambda: self.sandbox.agent.update_container(self.id, guest_resources),
            container_id=self.id,
        )

    async def pause(self) -> None:
        self._sandbox_running("pause")
        self._need((S.RUNNING,), E.PAUSE_STATE)
        await self._rpc(
            "PauseContainer",
            lambda: self.sandbox.agent.pause_container(self.id),
            container_id=self.id,
        )
        await self.set_state(S.PAUSED)

    async def resume(self) -> None:
        self._sandbox_running("resume")
        self._need((S.PAUSED,), E.RESUME_STATE)
        await self._rpc(
            "ResumeContainer",
            lambda: self.sandbox.agent.resume_container(self.id),
            container_id=self.id,
        )
        await self.set_state(S.RUNNING)


SWAPPINESS = "io.katacontainers.container.resource.swappiness"
SWAP_IN_BYTES = "io.katacontainers.container.resource.swap_in_bytes"


def _annotation_uint(annotations: dict[str, str], key: str) -> int | None:
    try:
        return parse_uint(annotations[key], 0, 64) if key in annotations else None
    except GoNumError as exc:
        raise E.PreconditionError(E.INVALID_ANNOTATION % (key, exc)) from None


def swap_resources(annotations: dict[str, str], resources: dict[str, Any]) -> dict[str, Any]:
    """Go `newContainer`'s swap annotations, checked and stored as Go stores them.

    Both are read with `strconv.ParseUint(s, 0, 64)` (so `0x10`, `0o20`, `020` and `1_000`
    are numbers, a sign is not); swappiness must be at most 200, and every failure reads
    `Invalid container configuration Annotations <key> <err>`. Swappiness lands in the
    OCI `memory.swappiness` (uint64), swap_in_bytes in `memory.swap` as Go's `int64(u)`
    (2**63 and up turn negative). Returns the new resources, or the given ones unchanged.
    """
    swappiness = _annotation_uint(annotations, SWAPPINESS)
    if swappiness is not None and swappiness > 200:
        raise E.PreconditionError(E.INVALID_ANNOTATION % (SWAPPINESS, E.SWAPPINESS_TOO_BIG))
    swap = _annotation_uint(annotations, SWAP_IN_BYTES)
    if swappiness is None and swap is None:
        return resources
    memory = dict(resources.get("memory") or {})
    if swappiness is not None:
        memory["swappiness"] = swappiness
    if swap is not None:
        memory["swap"] = go_int64(swap)
    return {**resources, "memory": memory}
