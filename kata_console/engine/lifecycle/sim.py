"""In-process implementations of the engine's ports: `SimAgent`, `SimHypervisor`, `SimFsShare`.

These are TEST DOUBLES. They stand in for a Kata guest (the agent inside a VM) and for the
VM itself, which cannot exist here; they model just enough guest behaviour (a container
must be created before it starts, SIGKILL ends its init process, a drive must be plugged
before it is unplugged) for the engine's sequencing to be exercised and shown. Every
method can be made to fail or stall through `faults`, which is how the tests (and plans)
drive rollbacks, force-stop and timeouts.

`SimAgent` stands for the guest agent *and* the runtime's `kataAgent` in front of it, so
its errors read as Go's runtime prints them, exactly as the gRPC client's do: an
agent's refusal as `rpc error: code = <Code> desc = <message>`, a missed deadline as
`kataAgent` rewrites it, a failed Check wrapped in `Failed to Check if grpc server is
working: ...`, and `Dead agent` once the health monitor has marked it dead. An
`AgentError` injected through `faults` is the agent's answer (its code and message).
"""

from __future__ import annotations

import asyncio
import signal as _signal
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kata_console.engine import errors as E
from kata_console.engine.gofmt import status_error
from kata_console.engine.lifecycle.simvm import Faults, SimFsShare, SimHypervisor
from kata_console.engine.ports import (
    AgentError,
    CreateContainerRequest,
    CreateSandboxRequest,
    GuestDetails,
)

__all__ = ["Faults", "SimAgent", "SimFsShare", "SimHypervisor"]

#: Kata `getReqContext` defaults; None = no deadline
DEFAULT_CREATE_CONTAINER_TIMEOUT = 60.0
DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_CHECK_TIMEOUT = 30.0

#: port method -> agent.proto RPC name (whose deadline text `errors.deadline_text` gives)
RPC_NAMES = {
    "check": "Check",
    "create_sandbox": "CreateSandbox",
    "destroy_sandbox": "DestroySandbox",
    "get_guest_details": "GetGuestDetails",
    "create_container": "CreateContainer",
    "start_container": "StartContainer",
    "remove_container": "RemoveContainer",
    "exec_process": "ExecProcess",
    "signal_process": "SignalProcess",
    "wait_process": "WaitProcess",
    "pause_container": "PauseContainer",
    "resume_container": "ResumeContainer",
    "update_container": "UpdateContainer",
    "stats_container": "StatsContainer",
    "tty_win_resize": "TtyWinResize",
    "remove_stale_virtiofs_share_mounts": "RemoveStaleVirtiofsShareMounts",
    "read_stdout": "ReadStdout",
}


@dataclass
class SimProcess:
    exit_status: int | None = None
    exited: asyncio.Event = field(default_factory=asyncio.Event)

    def exit(self, status: int) -> None:
        if self.exit_status is None:
            self.exit_status = status
            self.exited.set()


@dataclass
class SimContainer:
    status: str = "created"  # created | running | paused | stopped
    processes: dict[str, SimProcess] = field(default_factory=dict)
    request: CreateContainerRequest | None = None


class SimAgent:
    """Test double for the Kata guest agent (no guest can run here); see the module doc.

    `calls` records (method, arguments) in order. Deadlines follow Kata (CreateContainer
    configurable, Check 30 s, WaitProcess and ReadStdout none, others 60 s) and apply to
    injected stalls.
    """

    def __init__(
        self,
        *,
        create_container_timeout: float = DEFAULT_CREATE_CONTAINER_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        check_timeout: float = DEFAULT_CHECK_TIMEOUT,
    ) -> None:
        self.timeouts: dict[str, float | None] = {
            "create_container": create_container_timeout,
            "check": check_timeout,
            "wait_process": None,
            "read_stdout": None,
        }
        self.request_timeout = request_timeout
        self.faults = Faults()
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sandbox_id: str | None = None
        self.containers: dict[str, SimContainer] = {}
        self.closed = False
        self.dead_reason: str | None = None

    @property
    def dead(self) -> bool:
        return self.dead_reason is not None

    def mark_dead(self, reason: str) -> None:
        """Go `markDead`: every later call fails with `Dead agent`."""
        if self.dead_reason is None:
            self.dead_reason = reason

    # ------------------------------------------------------------------ plumbing
    async def _enter(self, method: str, **args: Any) -> None:
        self.calls.append((method, args))
        if self.dead_reason is not None:
            raise AgentError(E.DEAD_AGENT, "UNAVAILABLE")
        fault = self.faults.take(method)
        if fault is None:
            return
        if fault.delay:
            timeout = self.timeouts.get(method, self.request_timeout)
            try:
                await asyncio.wait_for(asyncio.sleep(fault.delay), timeout)
            except TimeoutError:
                raise AgentError(E.deadline_text(RPC_NAMES[method]), "DEADLINE_EXCEEDED") from None
        if isinstance(fault.error, AgentError):
            raise _refusal(fault.error.code, str(fault.error))
        if fault.error is not None:
            raise fault.error

    def _need_sandbox(self) -> None:
        if self.sandbox_id is None:
            raise _refusal("FAILED_PRECONDITION", "sandbox not created")

    def _container(self, container_id: str) -> SimContainer:
        c = self.containers.get(container_id)
        if c is None:
            raise _refusal("NOT_FOUND", f"container {container_id} not found")
        return c

    def exit_process(self, container_id: str, exec_id: str | None = None, status: int = 0) -> None:
        """Make a guest process exit (tests: a container whose workload ended)."""
        c = self.containers[container_id]
        c.processes[exec_id or container_id].exit(status)
        if exec_id in (None, container_id):
            c.status = "stopped"

    # ------------------------------------------------------------------ sandbox
    async def check(self) -> None:
        """Go `kataAgent.check`: a missed deadline as it is, anything else wrapped."""
        try:
            await self._enter("check")
        except AgentError as exc:
            if exc.code == "DEADLINE_EXCEEDED" and str(exc) == E.deadline_text("Check"):
                raise
            raise AgentError(E.CHECK_FAILED % exc, exc.code) from None

    async def create_sandbox(self, request: CreateSandboxRequest) -> None:
        await self._enter("create_sandbox", sandbox_id=request.sandbox_id)
        self.sandbox_id = request.sandbox_id

    async def destroy_sandbox(self) -> None:
        await self._enter("destroy_sandbox")
        self._need_sandbox()
        for c in self.containers.values():
            for proc in c.processes.values():
                proc.exit(128 + _signal.SIGKILL)
        self.containers.clear()
        self.sandbox_id = None

    async def get_guest_details(self) -> GuestDetails:
        await self._enter("get_guest_details")
        return GuestDetails(
            mem_block_size_bytes=128 << 20,
            agent_version="sim",
            device_handlers=["blk", "scsi", "mmioblk"],
            storage_handlers=["blk", "scsi", "overlayfs", "virtio-fs"],
        )

    # ------------------------------------------------------------------ containers
    async def create_container(self, request: CreateContainerRequest) -> None:
        await self._enter(
            "create_container",
            container_id=request.container_id,
            storages=len(request.storages),
            devices=len(request.devices),
        )
        self._need_sandbox()
        if request.container_id in self.containers:
            raise _refusal("ALREADY_EXISTS", f"container {request.container_id} already exists")
        self.containers[request.container_id] = SimContainer(
            processes={request.exec_id: SimProcess()}, request=request
        )

    async def start_container(self, container_id: str) -> None:
        await self._enter("start_container", container_id=container_id)
        c = self._container(container_id)
        if c.status != "created":
            raise _refusal(
                "FAILED_PRECONDITION", f"container {container_id} is {c.status}, not created"
            )
        c.status = "running"

    async def remove_container(self, container_id: str, timeout: int = 0) -> None:
        await self._enter("remove_container", container_id=container_id, timeout=timeout)
        self._container(container_id)
        del self.containers[container_id]

    async def exec_process(
        self, container_id: str, exec_id: str, process: Mapping[str, Any]
    ) -> None:
        await self._enter("exec_process", container_id=container_id, exec_id=exec_id)
        self._container(container_id).processes[exec_id] = SimProcess()

    async def signal_process(self, container_id: str, exec_id: str, signal: int) -> None:
        await self._enter(
            "signal_process", container_id=container_id, exec_id=exec_id, signal=signal
        )
        c = self._container(container_id)
        targets = list(c.processes.values()) if exec_id == "" else [c.processes.get(exec_id)]
        live = [p for p in targets if p is not None and p.exit_status is None]
        if not live:
            raise _refusal(
                "INTERNAL", f"failed to signal process {exec_id or container_id}: {E.ESRCH}"
            )
        if signal in (_signal.SIGKILL, _signal.SIGTERM):
            for proc in live:
                proc.exit(128 + signal)
            if exec_id in ("", container_id):
                c.status = "stopped"

    async def wait_process(self, container_id: str, exec_id: str) -> int:
        await self._enter("wait_process", container_id=container_id, exec_id=exec_id)
        proc = self._container(container_id).processes.get(exec_id)
        if proc is None:
            raise _refusal("NOT_FOUND", f"process {exec_id} not found in container {container_id}")
        await proc.exited.wait()
        return proc.exit_status or 0

    async def pause_container(self, container_id: str) -> None:
        await self._enter("pause_container", container_id=container_id)
        c = self._container(container_id)
        if c.status != "running":
            raise _refusal(
                "FAILED_PRECONDITION", f"container {container_id} is {c.status}, not running"
            )
        c.status = "paused"

    async def resume_container(self, container_id: str) -> None:
        await self._enter("resume_container", container_id=container_id)
        c = self._container(container_id)
        if c.status != "paused":
            raise _refusal(
                "FAILED_PRECONDITION", f"container {container_id} is {c.status}, not paused"
            )
        c.status = "running"

    async def update_container(self, container_id: str, resources: Mapping[str, Any]) -> None:
        await self._enter("update_container", container_id=container_id)
        self._container(container_id)

    async def stats_container(self, container_id: str) -> dict[str, Any]:
        await self._enter("stats_container", container_id=container_id)
        self._container(container_id)
        return {
            "cgroup_stats": {
                "cpu_stats": {"cpu_usage": {"total_usage": 0}},
                "memory_stats": {"usage": {"usage": 0}},
            },
            "network_stats": [],
        }

    async def tty_win_resize(self, container_id: str, exec_id: str, row: int, column: int) -> None:
        await self._enter(
            "tty_win_resize", container_id=container_id, exec_id=exec_id, row=row, column=column
        )
        self._container(container_id)

    async def remove_stale_virtiofs_share_mounts(self) -> None:
        await self._enter("remove_stale_virtiofs_share_mounts")

    async def read_stdout(self, container_id: str, exec_id: str, length: int) -> bytes:
        await self._enter("read_stdout", container_id=container_id, exec_id=exec_id)
        return b""

    async def close(self) -> None:
        self.closed = True


def _refusal(code: str, message: str) -> AgentError:
    """The agent answered with an error status: Go's runtime prints it as grpc-go does."""
    return AgentError(status_error(code, message), code)
