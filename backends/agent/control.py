"""Client of the simulated agent's `kataconsole.Control` service: faults and inspection.

Separate from `AgentClient` on purpose: a real Kata agent has no such service, so
nothing on the engine's path may depend on it. The console uses it to show what the
guest would mount (the storages and devices each container was created with) and to
break a running agent on demand; tests use it to inject faults mid-run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType

import grpc
from google.protobuf import empty_pb2

from backends.agent.convert import from_device, from_storage
from backends.agent.generated import kataconsole_control_pb2 as ctl_pb2
from backends.agent.generated import kataconsole_control_pb2_grpc as ctl_pb2_grpc
from kata_console.engine.ports import AgentError, GuestDevice, Storage


@dataclass(slots=True)
class GuestProcess:
    exec_id: str
    state: str  # created | running | exited
    exit_status: int
    pid: int
    args: list[str]


@dataclass(slots=True)
class GuestContainer:
    container_id: str
    state: str  # created | running | paused | stopped
    init_exec_id: str
    storages: list[Storage] = field(default_factory=list)
    devices: list[GuestDevice] = field(default_factory=list)
    processes: list[GuestProcess] = field(default_factory=list)
    string_user: str = ""


@dataclass(slots=True)
class GuestView:
    """A snapshot of everything the simulated guest holds."""

    sandbox_id: str = ""
    hostname: str = ""
    dns: list[str] = field(default_factory=list)
    storages: list[Storage] = field(default_factory=list)
    kernel_modules: list[str] = field(default_factory=list)
    containers: dict[str, GuestContainer] = field(default_factory=dict)
    rpc_counts: dict[str, int] = field(default_factory=dict)
    faults: list[str] = field(default_factory=list)


def _view(msg: ctl_pb2.GuestState) -> GuestView:
    view = GuestView(
        sandbox_id=msg.sandbox_id,
        hostname=msg.hostname,
        dns=list(msg.dns),
        storages=[from_storage(s) for s in msg.storages],
        kernel_modules=[" ".join([m.name, *m.parameters]) for m in msg.kernel_modules],
        rpc_counts=dict(msg.rpc_counts),
        faults=list(msg.faults),
    )
    for c in msg.containers:
        user = c.string_user
        view.containers[c.container_id] = GuestContainer(
            container_id=c.container_id,
            state=c.state,
            init_exec_id=c.init_exec_id,
            storages=[from_storage(s) for s in c.storages],
            devices=[from_device(d) for d in c.devices],
            processes=[
                GuestProcess(p.exec_id, p.state, p.exit_status, p.pid, list(p.args))
                for p in c.processes
            ],
            string_user=":".join(filter(None, [user.uid, user.gid, ",".join(user.additionalGids)])),
        )
    return view


class ControlClient:
    """Faults and inspection for one simulated agent; its own channel, dialled lazily."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout
        self._channel: grpc.aio.Channel | None = None
        self._stub: ctl_pb2_grpc.ControlStub | None = None

    def _control(self) -> ctl_pb2_grpc.ControlStub:
        if self._stub is None:
            self._channel = grpc.aio.insecure_channel(self.url)
            self._stub = ctl_pb2_grpc.ControlStub(self._channel)
        return self._stub

    async def _call(self, method: str, request: object) -> object:
        try:
            rpc = getattr(self._control(), method)
            return await rpc(request, timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            raise AgentError(exc.details() or exc.code().name, exc.code().name) from None

    async def set_faults(self, *specs: str, replace: bool = False) -> list[str]:
        """Add faults in `--fault` syntax (all or none: a bad spec changes nothing);
        `replace` drops the existing ones first. Returns the active faults."""
        req = ctl_pb2.SetFaultsRequest(specs=specs, replace=replace)
        return list((await self._call("SetFaults", req)).specs)  # type: ignore[attr-defined]

    async def clear_faults(self, *rpcs: str) -> list[str]:
        """Clear the faults of `rpcs` (none given: all). Returns the active faults."""
        req = ctl_pb2.ClearFaultsRequest(rpcs=rpcs)
        return list((await self._call("ClearFaults", req)).specs)  # type: ignore[attr-defined]

    async def faults(self) -> list[str]:
        return list((await self._call("ListFaults", empty_pb2.Empty())).specs)  # type: ignore[attr-defined]

    async def inspect(self) -> GuestView:
        return _view(await self._call("Inspect", empty_pb2.Empty()))  # type: ignore[arg-type]

    async def inject_oom(self, container_id: str) -> None:
        """OOM-kill a running container (exit 137); a pending GetOOMEvent returns its id."""
        await self._call("InjectOOM", ctl_pb2.InjectOOMRequest(container_id=container_id))

    async def close(self) -> None:
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            await channel.close(None)

    async def __aenter__(self) -> ControlClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
