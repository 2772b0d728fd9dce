"""The simulated guest agent as a grpc.aio server on a unix socket.

A stand-in for a Kata guest's kata-agent (see `guest.py` for what it simulates and
why): it serves `/grpc.AgentService/<Method>` and `/grpc.Health/Check` exactly as the
real agent names them, so the runtime side talks real gRPC across a process boundary
and sees real deadlines and connection failures. The real agent speaks ttrpc over vsock;
the API surface (messages, method names, status codes) is what is faithful here.

The socket is born 0600 in a 0700 directory (see `listen.py` for the checks).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import grpc
from google.protobuf import empty_pb2

from backends.agent.faults import FaultError, FaultSpecError, FaultTable
from backends.agent.generated import (
    agent_pb2,
    agent_pb2_grpc,
    health_pb2,
    health_pb2_grpc,
    types_pb2,
)
from backends.agent.generated import (
    kataconsole_control_pb2 as ctl_pb2,
)
from backends.agent.generated import (
    kataconsole_control_pb2_grpc as ctl_pb2_grpc,
)
from backends.agent.guest import Guest, GuestError
from backends.agent.listen import ListenError, prepare_socket_dir, socket_path
from kata_console import __version__

AGENT_VERSION = f"{__version__}-kata-console-sim"
_EMPTY = empty_pb2.Empty()

R = TypeVar("R")
Handler = Callable[[Any, Any, grpc.aio.ServicerContext], Awaitable[R]]


def _abort_code(name: str) -> grpc.StatusCode:
    return getattr(grpc.StatusCode, name, grpc.StatusCode.UNKNOWN)


class _State:
    """What the three services share: the guest, the faults and per-RPC counters."""

    def __init__(self, tick_seconds: float, faults: Sequence[str]) -> None:
        self.guest = Guest(tick_seconds)
        self.faults = FaultTable()
        self.faults.add_specs(faults)
        self.counts: collections.Counter[str] = collections.Counter()


def _rpc(fn: Handler[R]) -> Handler[R]:
    """Count the call, apply its faults, and turn guest/fault errors into statuses."""
    name = fn.__name__

    @functools.wraps(fn)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext) -> R:
        self.state.counts[name] += 1
        try:
            await self.state.faults.apply(name)
            return await fn(self, request, context)
        except (FaultError, GuestError) as exc:
            await context.abort(_abort_code(exc.code), exc.message)
            raise  # unreachable: abort raises

    return wrapper


class AgentService(agent_pb2_grpc.AgentServiceServicer):
    def __init__(self, state: _State) -> None:
        self.state = state
        self.guest = state.guest

    @_rpc
    async def CreateSandbox(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.guest.create_sandbox(request)
        return _EMPTY

    @_rpc
    async def DestroySandbox(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.guest.destroy_sandbox()
        return _EMPTY

    @_rpc
    async def CreateContainer(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.guest.create_container(request)
        return _EMPTY

    @_rpc
    async def StartContainer(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.guest.start_container(request.container_id)
        return _EMPTY

    @_rpc
    async def RemoveContainer(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.guest.remove_container(request.container_id)
        return _EMPTY

    @_rpc
    async def ExecProcess(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.guest.exec_process(request)
        return _EMPTY

    @_rpc
    async def SignalProcess(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.guest.signal_process(request.container_id, request.exec_id, request.signal)
        return _EMPTY

    @_rpc
    async def WaitProcess(self, request: Any, context: Any) -> agent_pb2.WaitProcessResponse:
        status = await self.guest.wait_process(request.container_id, request.exec_id)
        return agent_pb2.WaitProcessResponse(status=status)

    @_rpc
    async def UpdateContainer(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.guest.update_container(request.container_id, request.resources)
        return _EMPTY

    @_rpc
    async def StatsContainer(self, request: Any, context: Any) -> agent_pb2.StatsContainerResponse:
        return self.guest.stats(request.container_id)

    @_rpc
    async def PauseContainer(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.guest.pause_container(request.container_id)
        return _EMPTY

    @_rpc
    async def ResumeContainer(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.guest.resume_container(request.container_id)
        return _EMPTY

    @_rpc
    async def RemoveStaleVirtiofsShareMounts(self, request: Any, context: Any) -> empty_pb2.Empty:
        return _EMPTY

    @_rpc
    async def WriteStdin(self, request: Any, context: Any) -> agent_pb2.WriteStreamResponse:
        n = self.guest.write_stdin(request.container_id, request.exec_id, request.data)
        return agent_pb2.WriteStreamResponse(len=n)

    @_rpc
    async def ReadStdout(self, request: Any, context: Any) -> agent_pb2.ReadStreamResponse:
        data = await self.guest.read_stdout(request.container_id, request.exec_id, request.len)
        return agent_pb2.ReadStreamResponse(data=data)

    @_rpc
    async def ReadStderr(self, request: Any, context: Any) -> agent_pb2.ReadStreamResponse:
        data = await self.guest.read_stderr(request.container_id, request.exec_id)
        return agent_pb2.ReadStreamResponse(data=data)

    @_rpc
    async def CloseStdin(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.guest.close_stdin(request.container_id, request.exec_id)
        return _EMPTY

    @_rpc
    async def TtyWinResize(self, request: Any, context: Any) -> empty_pb2.Empty:
        self.guest.tty_win_resize(
            request.container_id, request.exec_id, request.row, request.column
        )
        return _EMPTY

    @_rpc
    async def ListInterfaces(self, request: Any, context: Any) -> agent_pb2.Interfaces:
        v4 = types_pb2.IPFamily.v4
        return agent_pb2.Interfaces(
            Interfaces=[
                types_pb2.Interface(
                    device="lo",
                    name="lo",
                    mtu=65536,
                    type="loopback",
                    IPAddresses=[types_pb2.IPAddress(family=v4, address="127.0.0.1", mask="8")],
                ),
                types_pb2.Interface(
                    device="eth0",
                    name="eth0",
                    mtu=1500,
                    type="veth",
                    hwAddr="02:42:ac:11:00:02",
                    pciPath="02/00",
                    IPAddresses=[types_pb2.IPAddress(family=v4, address="172.17.0.2", mask="16")],
                ),
            ]
        )

    @_rpc
    async def ListRoutes(self, request: Any, context: Any) -> agent_pb2.Routes:
        return agent_pb2.Routes(
            Routes=[
                types_pb2.Route(gateway="172.17.0.1", device="eth0"),
                types_pb2.Route(
                    dest="172.17.0.0/16", device="eth0", source="172.17.0.2", scope=253
                ),
            ]
        )

    @_rpc
    async def GetMetrics(self, request: Any, context: Any) -> agent_pb2.Metrics:
        lines = [
            "# HELP kata_agent_rpcs_total RPCs served by the simulated agent.",
            "# TYPE kata_agent_rpcs_total counter",
            *(
                f'kata_agent_rpcs_total{{method="{m}"}} {n}'
                for m, n in sorted(self.state.counts.items())
            ),
            "# HELP kata_guest_containers Containers the guest holds.",
            "# TYPE kata_guest_containers gauge",
            f"kata_guest_containers {len(self.guest.containers)}",
        ]
        return agent_pb2.Metrics(metrics="\n".join(lines) + "\n")

    @_rpc
    async def OnlineCPUMem(self, request: Any, context: Any) -> empty_pb2.Empty:
        return _EMPTY

    @_rpc
    async def GetGuestDetails(self, request: Any, context: Any) -> agent_pb2.GuestDetailsResponse:
        details = agent_pb2.AgentDetails(
            version=AGENT_VERSION,
            init_daemon=True,
            device_handlers=["blk", "block", "mmioblk", "scsi", "nvdimm", "vfio-pci", "vfio-ap"],
            storage_handlers=[
                "blk",
                "9p",
                "virtio-fs",
                "ephemeral",
                "local",
                "nvdimm",
                "overlayfs",
            ],
            supports_seccomp=True,
        )
        return agent_pb2.GuestDetailsResponse(
            mem_block_size_bytes=128 << 20 if request.mem_block_size else 0,
            agent_details=details,
            support_mem_hotplug_probe=False,
        )

    @_rpc
    async def GetOOMEvent(self, request: Any, context: Any) -> agent_pb2.OOMEvent:
        return agent_pb2.OOMEvent(container_id=await self.guest.oom_events.get())


class HealthService(health_pb2_grpc.HealthServicer):
    def __init__(self, state: _State) -> None:
        self.state = state

    @_rpc
    async def Check(self, request: Any, context: Any) -> health_pb2.HealthCheckResponse:
        return health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)

    @_rpc
    async def Version(self, request: Any, context: Any) -> health_pb2.VersionCheckResponse:
        return health_pb2.VersionCheckResponse(
            grpc_version=grpc.__version__, agent_version=AGENT_VERSION
        )


class ControlService(ctl_pb2_grpc.ControlServicer):
    """kata-console's own service: never faulted, so a broken agent can always be mended."""

    def __init__(self, state: _State) -> None:
        self.state = state

    def _faults(self) -> ctl_pb2.Faults:
        return ctl_pb2.Faults(specs=self.state.faults.specs())

    async def SetFaults(self, request: Any, context: Any) -> ctl_pb2.Faults:
        try:
            if request.replace:
                self.state.faults.clear()
            self.state.faults.add_specs(request.specs)
        except FaultSpecError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return self._faults()

    async def ClearFaults(self, request: Any, context: Any) -> ctl_pb2.Faults:
        self.state.faults.clear(request.rpcs)
        return self._faults()

    async def ListFaults(self, request: Any, context: Any) -> ctl_pb2.Faults:
        return self._faults()

    async def InjectOOM(self, request: Any, context: Any) -> empty_pb2.Empty:
        try:
            self.state.guest.inject_oom(request.container_id)
        except GuestError as exc:
            await context.abort(_abort_code(exc.code), exc.message)
        return _EMPTY

    async def Inspect(self, request: Any, context: Any) -> ctl_pb2.GuestState:
        guest = self.state.guest
        out = ctl_pb2.GuestState(
            rpc_counts=dict(self.state.counts), faults=self.state.faults.specs()
        )
        if guest.sandbox is not None:
            sb = guest.sandbox
            out.sandbox_id, out.hostname = sb.sandbox_id, sb.hostname
            out.dns.extend(sb.dns)
            out.storages.extend(sb.storages)
            out.kernel_modules.extend(sb.kernel_modules)
        for ctr in guest.containers.values():
            state = out.containers.add(
                container_id=ctr.container_id, state=ctr.state, init_exec_id=ctr.init.exec_id
            )
            state.storages.extend(ctr.request.storages)
            state.devices.extend(ctr.request.devices)
            state.string_user.CopyFrom(ctr.request.string_user)
            for proc in ctr.processes():
                state.processes.add(
                    exec_id=proc.exec_id,
                    state=proc.state,
                    exit_status=proc.exit_status,
                    pid=proc.pid,
                    args=proc.args,
                )
        return out


class AgentServer:
    """One simulated agent listening on a unix socket (use `start`, then `stop`)."""

    def __init__(
        self, listen: str, faults: Sequence[str] = (), *, tick_seconds: float = 0.2
    ) -> None:
        self.url = listen
        self.path = socket_path(listen)
        self.state = _State(tick_seconds, faults)  # parses faults: FaultSpecError early
        self._server: grpc.aio.Server | None = None

    async def start(self) -> None:
        prepare_socket_dir(self.path)
        server = grpc.aio.server()
        agent_pb2_grpc.add_AgentServiceServicer_to_server(AgentService(self.state), server)
        health_pb2_grpc.add_HealthServicer_to_server(HealthService(self.state), server)
        ctl_pb2_grpc.add_ControlServicer_to_server(ControlService(self.state), server)
        old = os.umask(0o177)  # the socket is born 0600: no window where others can connect
        try:
            server.add_insecure_port(f"unix://{self.path}")
        except RuntimeError as exc:
            raise ListenError(f"cannot listen on {self.url}: {exc}") from None
        finally:
            os.umask(old)
        await server.start()
        os.chmod(self.path, 0o600)
        self._server = server

    async def stop(self, grace: float | None = 0.5) -> None:
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
        self.path.unlink(missing_ok=True)

    async def wait_for_termination(self) -> None:
        if self._server is not None:
            await self._server.wait_for_termination()


async def serve(
    listen: str,
    faults: Sequence[str] = (),
    *,
    tick_seconds: float = 0.2,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[AgentServer], None] | None = None,
) -> None:
    """Run an agent until `stop` is set (the CLI sets it on SIGTERM/SIGINT)."""
    server = AgentServer(listen, faults, tick_seconds=tick_seconds)
    await server.start()
    try:
        if on_ready is not None:
            on_ready(server)
        await (stop or asyncio.Event()).wait()
    finally:
        await server.stop()
