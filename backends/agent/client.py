"""The engine's agent client: the `Agent` port over gRPC, with Kata's client semantics.

Mirrors the Go runtime's `kataAgent` (kata-engine.md §5): the channel is dialled lazily
on the first call (within `dial_timeout`; a failed dial marks the agent dead, as Go's
`connect` does), each request gets the deadline `getReqContext` would give it
(CreateContainer `create_container_timeout`, Check 30 s, WaitProcess and GetOOMEvent
none, ReadStdout/ReadStderr none, everything else 60 s), and errors read as Go prints
them: a missed deadline `rpc error: code = DeadlineExceeded desc = <Name>Request timed
out` (with Go's irregular names), an agent's error status `rpc error: code = <Code> desc
= <message>`, a failed Check `Failed to Check if grpc server is working: <err>`, and
once the agent is marked dead (`mark_dead`, by the sandbox's health monitor) every call
fails at once with `Dead agent`.

The client emits no step events (the engine wraps each call in its own); it reports
each call's method, status and latency to `on_rpc`, for the step view's timings.
`stdout_lines` reads are not reported there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import grpc  # backends.agent (the parent package) has set GRPC_* already
from google.protobuf.message import Message

from backends.agent import convert
from backends.agent.generated import agent_pb2, agent_pb2_grpc, health_pb2, health_pb2_grpc, oci_pb2
from kata_console.engine import errors as E
from kata_console.engine.gofmt import status_error
from kata_console.engine.ports import (
    AgentError,
    CreateContainerRequest,
    CreateSandboxRequest,
    GuestDetails,
)

#: Kata's defaults (`getReqContext`, `[agent.kata] dial_timeout` fallback).
DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_CREATE_CONTAINER_TIMEOUT = 60.0
DEFAULT_CHECK_TIMEOUT = 30.0
DEFAULT_DIAL_TIMEOUT = 30.0
DEAD_AGENT = E.DEAD_AGENT
#: what grpc core says when the call's own deadline passed (an agent may also answer
#: DEADLINE_EXCEEDED itself, which Go reports as it came)
_LOCAL_DEADLINE = "Deadline Exceeded"

OnRpc = Callable[[str, str, float], None]
OnDead = Callable[[str], None]


class AgentClient:
    """Implements `kata_console.engine.ports.Agent` against an agent at `url`.

    `on_rpc(method, code, seconds)`: after every reported call, `code` "OK" or a gRPC
    status name. `on_dead(reason)`: once, when the agent is marked dead (a failed dial,
    or `mark_dead` from the sandbox's health monitor). `create_container_timeout=0` gives
    a 0 s deadline, as an omitted setting does in Kata.
    """

    def __init__(
        self,
        url: str,
        *,
        create_container_timeout: float = DEFAULT_CREATE_CONTAINER_TIMEOUT,
        dial_timeout: float = DEFAULT_DIAL_TIMEOUT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        check_timeout: float = DEFAULT_CHECK_TIMEOUT,
        on_rpc: OnRpc | None = None,
        on_dead: OnDead | None = None,
    ) -> None:
        self.url = url
        self.create_container_timeout = create_container_timeout
        self.dial_timeout = dial_timeout
        self.request_timeout = request_timeout
        self.check_timeout = check_timeout
        self.on_rpc = on_rpc
        self.on_dead = on_dead
        self.dead_reason: str | None = None
        self._channel: grpc.aio.Channel | None = None
        self._agent: Any = None
        self._health: Any = None
        self._dial_lock: asyncio.Lock | None = None

    # ------------------------------------------------------------------ plumbing

    @property
    def dead(self) -> bool:
        return self.dead_reason is not None

    def mark_dead(self, reason: str) -> None:
        """Kata's `markDead`: later calls fail fast with `Dead agent`; idempotent. Go also
        disconnects; the channel is dropped at `close` (a call in flight keeps its own)."""
        if self.dead_reason is not None:
            return
        self.dead_reason = reason
        if self.on_dead is not None:
            self.on_dead(reason)

    async def _dial(self) -> None:
        if self._agent is not None:
            return
        if self._dial_lock is None:
            self._dial_lock = asyncio.Lock()
        async with self._dial_lock:
            if self._agent is not None:
                return
            channel = grpc.aio.insecure_channel(self.url)
            try:
                await asyncio.wait_for(channel.channel_ready(), self.dial_timeout)
            except TimeoutError:
                await channel.close(None)
                # Go's unix-socket dialer (`RemoteSockDialer`) says this; its `connect`
                # then marks the agent dead for good
                text = status_error("DEADLINE_EXCEEDED", E.DIAL_TIMEOUT % _socket_path(self.url))
                self.mark_dead(text)
                raise AgentError(text, "DEADLINE_EXCEEDED") from None
            except BaseException:
                await channel.close(None)
                raise
            self._channel = channel
            self._agent = agent_pb2_grpc.AgentServiceStub(channel)
            self._health = health_pb2_grpc.HealthStub(channel)

    @staticmethod
    def _error(method: str, exc: grpc.aio.AioRpcError) -> AgentError:
        """Go's text for a failed call: its own missed deadline as `kataAgent` rewrites
        it, anything else as the status the agent (or the transport) gave."""
        code = exc.code().name
        details = exc.details() or ""
        if code == "DEADLINE_EXCEEDED" and details == _LOCAL_DEADLINE:
            return AgentError(E.deadline_text(method), code)
        return AgentError(status_error(code, details), code)

    async def _call(
        self,
        method: str,
        request: Message,
        timeout: float | None,
        *,
        health: bool = False,
        report: bool = True,
    ) -> Any:
        started = time.perf_counter()
        code = "OK"
        try:
            if self.dead_reason is not None:
                code = "UNAVAILABLE"
                raise AgentError(DEAD_AGENT, code)
            await self._dial()
            stub = self._health if health else self._agent
            return await getattr(stub, method)(request, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            code = exc.code().name
            raise self._error(method, exc) from None
        except AgentError as exc:
            code = exc.code
            raise
        except asyncio.CancelledError:
            code = "CANCELLED"
            raise
        finally:
            if report and self.on_rpc is not None:
                self.on_rpc(method, code, time.perf_counter() - started)

    # ------------------------------------------------------------------ Agent port

    async def check(self) -> None:
        """Go `kataAgent.check`: a missed deadline as it is, anything else wrapped."""
        try:
            await self._call("Check", health_pb2.CheckRequest(), self.check_timeout, health=True)
        except AgentError as exc:
            if str(exc) == E.deadline_text("Check"):
                raise
            raise AgentError(E.CHECK_FAILED % exc, exc.code) from None

    async def version(self) -> tuple[str, str]:
        """(grpc_version, agent_version) from `grpc.Health/Version`."""
        r = await self._call("Version", health_pb2.CheckRequest(), self.check_timeout, health=True)
        return r.grpc_version, r.agent_version

    async def create_sandbox(self, request: CreateSandboxRequest) -> None:
        await self._call("CreateSandbox", convert.create_sandbox(request), self.request_timeout)

    async def destroy_sandbox(self) -> None:
        await self._call("DestroySandbox", agent_pb2.DestroySandboxRequest(), self.request_timeout)

    async def get_guest_details(self) -> GuestDetails:
        req = agent_pb2.GuestDetailsRequest(mem_block_size=True, mem_hotplug_probe=True)
        return convert.guest_details(await self._call("GetGuestDetails", req, self.request_timeout))

    async def create_container(self, request: CreateContainerRequest) -> None:
        req = convert.create_container(request)
        await self._call("CreateContainer", req, self.create_container_timeout)

    async def start_container(self, container_id: str) -> None:
        req = agent_pb2.StartContainerRequest(container_id=container_id)
        await self._call("StartContainer", req, self.request_timeout)

    async def remove_container(self, container_id: str, timeout: int = 0) -> None:
        req = agent_pb2.RemoveContainerRequest(container_id=container_id, timeout=timeout)
        await self._call("RemoveContainer", req, self.request_timeout)

    async def exec_process(
        self, container_id: str, exec_id: str, process: Mapping[str, Any]
    ) -> None:
        req = agent_pb2.ExecProcessRequest(
            container_id=container_id,
            exec_id=exec_id,
            process=convert.fill(oci_pb2.Process(), process),
        )
        await self._call("ExecProcess", req, self.request_timeout)

    async def signal_process(self, container_id: str, exec_id: str, signal: int) -> None:
        req = agent_pb2.SignalProcessRequest(
            container_id=container_id, exec_id=exec_id, signal=signal
        )
        await self._call("SignalProcess", req, self.request_timeout)

    async def wait_process(self, container_id: str, exec_id: str) -> int:
        req = agent_pb2.WaitProcessRequest(container_id=container_id, exec_id=exec_id)
        return int((await self._call("WaitProcess", req, None)).status)

    async def pause_container(self, container_id: str) -> None:
        req = agent_pb2.PauseContainerRequest(container_id=container_id)
        await self._call("PauseContainer", req, self.request_timeout)

    async def resume_container(self, container_id: str) -> None:
        req = agent_pb2.ResumeContainerRequest(container_id=container_id)
        await self._call("ResumeContainer", req, self.request_timeout)

    async def update_container(self, container_id: str, resources: Mapping[str, Any]) -> None:
        req = agent_pb2.UpdateContainerRequest(
            container_id=container_id, resources=convert.fill(oci_pb2.LinuxResources(), resources)
        )
        await self._call("UpdateContainer", req, self.request_timeout)

    async def stats_container(self, container_id: str) -> dict[str, Any]:
        """`{"cgroup_stats": {...}, "network_stats": [...]}` with agent.proto field names."""
        req = agent_pb2.StatsContainerRequest(container_id=container_id)
        return convert.to_dict(await self._call("StatsContainer", req, self.request_timeout))

    async def tty_win_resize(self, container_id: str, exec_id: str, row: int, column: int) -> None:
        req = agent_pb2.TtyWinResizeRequest(
            container_id=container_id, exec_id=exec_id, row=row, column=column
        )
        await self._call("TtyWinResize", req, self.request_timeout)

    async def remove_stale_virtiofs_share_mounts(self) -> None:
        req = agent_pb2.RemoveStaleVirtiofsShareMountsRequest()
        await self._call("RemoveStaleVirtiofsShareMounts", req, self.request_timeout)

    async def read_stdout(
        self, container_id: str, exec_id: str, length: int, *, report: bool = True
    ) -> bytes:
        """Blocks until output is there, without a deadline (Go reads with the agent's own
        context, not `getReqContext`); b"" at EOF (the process exited, output drained)."""
        return await self._read("ReadStdout", container_id, exec_id, length, report)

    async def read_stderr(self, container_id: str, exec_id: str, length: int) -> bytes:
        return await self._read("ReadStderr", container_id, exec_id, length, True)

    async def _read(self, method: str, cid: str, eid: str, length: int, report: bool) -> bytes:
        req = agent_pb2.ReadStreamRequest(container_id=cid, exec_id=eid, len=length)
        try:
            return bytes((await self._call(method, req, None, report=report)).data)
        except AgentError as exc:
            if exc.code == "OUT_OF_RANGE":
                return b""
            raise

    async def write_stdin(self, container_id: str, exec_id: str, data: bytes) -> int:
        req = agent_pb2.WriteStreamRequest(container_id=container_id, exec_id=exec_id, data=data)
        return int((await self._call("WriteStdin", req, self.request_timeout)).len)

    async def close_stdin(self, container_id: str, exec_id: str) -> None:
        req = agent_pb2.CloseStdinRequest(container_id=container_id, exec_id=exec_id)
        await self._call("CloseStdin", req, self.request_timeout)

    async def stdout_lines(
        self, container_id: str, exec_id: str = "", chunk: int = 32 * 1024
    ) -> AsyncIterator[str]:
        """Lines of a process's stdout as they are written, for a live log pane; ends at
        EOF or when the container is gone. Reads are not reported to `on_rpc`."""
        pending = b""
        while True:
            try:
                data = await self.read_stdout(container_id, exec_id, chunk, report=False)
            except AgentError as exc:
                if exc.code == "NOT_FOUND":
                    break
                raise
            if not data:
                break
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                yield line.decode(errors="replace")
        if pending:
            yield pending.decode(errors="replace")

    # ------------------------------------------------------------------ inspection

    async def list_interfaces(self) -> list[dict[str, Any]]:
        resp = await self._call(
            "ListInterfaces", agent_pb2.ListInterfacesRequest(), self.request_timeout
        )
        return [convert.to_dict(i) for i in resp.Interfaces]

    async def list_routes(self) -> list[dict[str, Any]]:
        resp = await self._call("ListRoutes", agent_pb2.ListRoutesRequest(), self.request_timeout)
        return [convert.to_dict(r) for r in resp.Routes]

    async def get_metrics(self) -> str:
        resp = await self._call("GetMetrics", agent_pb2.GetMetricsRequest(), self.request_timeout)
        return str(resp.metrics)

    async def get_oom_event(self) -> str:
        """Blocks (no deadline, as in Kata) until a container is OOM-killed; its id."""
        return str(
            (await self._call("GetOOMEvent", agent_pb2.GetOOMEventRequest(), None)).container_id
        )

    async def online_cpu_mem(self, nb_cpus: int = 0, wait: bool = True) -> None:
        req = agent_pb2.OnlineCPUMemRequest(wait=wait, nb_cpus=nb_cpus)
        await self._call("OnlineCPUMem", req, self.request_timeout)

    async def close(self) -> None:
        """Drop the channel; a later call dials again (lazily) unless the agent is dead."""
        channel, self._channel, self._agent, self._health = self._channel, None, None, None
        if channel is not None:
            await channel.close(None)


def _socket_path(url: str) -> str:
    return url.removeprefix("unix://")
