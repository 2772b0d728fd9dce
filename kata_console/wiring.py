"""Turns port specs (`"spawn"`, `unix://...`, `"sim"`, a recorded host file) into
port implementations. The only place that knows which backend answers for which spec;
the engine never imports a backend, and the CLI and console never construct one.
"""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from kata_console.engine.lifecycle.events import EventBus
from kata_console.engine.lifecycle.sim import (
    DEFAULT_CHECK_TIMEOUT,
    DEFAULT_CREATE_CONTAINER_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    SimAgent,
    SimHypervisor,
)
from kata_console.engine.ports import Agent, HostView, Hypervisor, HypervisorError

AgentCloser = Callable[[], Awaitable[None]]


class WiringError(Exception):
    """A spec names a backend that is unknown or not available here (one line)."""


async def make_agent(
    spec: str,
    run_dir: Path,
    *,
    create_container_timeout: float = DEFAULT_CREATE_CONTAINER_TIMEOUT,
    request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
    check_timeout: float = DEFAULT_CHECK_TIMEOUT,
    dial_timeout: float = 30.0,
    faults: Sequence[str] = (),
    on_rpc: Callable[[str, str, float], None] | None = None,
    on_dead: Callable[[str], None] | None = None,
) -> tuple[Agent, AgentCloser]:
    """The agent for `spec` and the coroutine that closes it.

    `"spawn"` starts one simulated guest agent subprocess for this sandbox (like one agent
    per VM) on `<run_dir>/agent.sock`; the closer stops it. `"unix:///path"` reaches
    an agent that is already running. `"sim"` is the in-process test double.
    """
    if spec == "sim":
        if faults:
            raise WiringError("agent faults given as --fault specs need a spawned agent")
        agent = SimAgent(
            create_container_timeout=create_container_timeout,
            request_timeout=request_timeout,
            check_timeout=check_timeout,
        )
        return agent, agent.close
    options = {
        "create_container_timeout": create_container_timeout,
        "dial_timeout": dial_timeout,
        "request_timeout": request_timeout,
        "check_timeout": check_timeout,
        "on_rpc": on_rpc,
        "on_dead": on_dead,
    }
    if spec == "spawn":
        from backends.agent.spawn import UnsafeRunDir, spawn_agent

        try:
            spawned = await spawn_agent(run_dir, faults=faults)
        except ValueError as exc:
            raise WiringError(f"agent fault: {exc}") from None
        except UnsafeRunDir as exc:  # the state directory given is unusable: bad input
            raise WiringError(str(exc)) from None
        client = spawned.client(**options)

        async def close() -> None:
            await client.close()
            await spawned.stop()

        client.spawned = spawned  # type: ignore[attr-defined]
        return client, close
    if spec.startswith("unix://"):
        if not spec.startswith("unix:///"):
            raise WiringError(f"agent {spec!r}: a socket address is unix:///ABSOLUTE/PATH")
        if faults:
            raise WiringError(
                "agent faults are armed at spawn; for a running agent use its control RPC"
            )
        from backends.agent.spawn import connect

        client = connect(spec, **options)
        return client, client.close
    raise WiringError(f'unknown agent {spec!r}: expected "spawn", "sim" or "unix:///PATH"')


#: a plan's or the demo's `hypervisor`: "auto" is QEMU when its binary is here, else "sim"
HYPERVISORS = ("auto", "qemu", "sim")
QEMU_BINARY = "qemu-system-x86_64"


def resolve_hypervisor(spec: str) -> tuple[str, str]:
    """The hypervisor `spec` means on this machine, and a note to show when "auto" had to
    fall back to the simulator (else "")."""
    if spec != "auto":
        return spec, ""
    if shutil.which(QEMU_BINARY) is not None:
        return "qemu", ""
    return "sim", f"no {QEMU_BINARY} on this machine: the VM is simulated in-process"


def make_hypervisor(
    spec: str,
    *,
    block_driver: str = "virtio-scsi",
    run_dir: Path | None = None,
    bus: EventBus | None = None,
    recorded_host: bool = False,
) -> Hypervisor:
    """`"sim"`: the in-process double. `"qemu"`: a real QEMU whose QMP socket, pidfile and
    log live in `run_dir` (like Kata's `/run/vc/vm/<id>`); `bus` shows its QMP commands as
    steps; with a `recorded_host` its layers are stand-in images made in `run_dir` (the
    recorded files are not on this machine). `"auto"` must be resolved first
    (`resolve_hypervisor`)."""
    if spec == "sim":
        return SimHypervisor(block_driver=block_driver)
    if spec == "qemu":
        if run_dir is None:
            raise WiringError("the QEMU hypervisor needs a run directory")
        from backends.hypervisor.qemu import QemuHypervisor
        from backends.hypervisor.standins import StandInLayers

        stand_ins = StandInLayers(Path(run_dir) / "layers") if recorded_host else None
        try:
            return QemuHypervisor(run_dir, block_driver=block_driver, bus=bus, stand_ins=stand_ins)
        except HypervisorError as exc:
            raise WiringError(str(exc)) from None
    known = ", ".join(f'"{h}"' for h in HYPERVISORS)
    raise WiringError(f"unknown hypervisor {spec!r}: one of {known}")


def make_host_view(spec: str) -> HostView:
    """`"live"`: this machine's kernel, read-only (procfs, sysfs, stat, loop ioctls). A
    path: a recorded host snapshot (`fixtures/hosts/*.json`) that replays one."""
    if spec == "live":
        from backends.host.linux import LinuxHost

        return LinuxHost()
    from backends.host.snapshot import SnapshotError, SnapshotHost

    try:
        return SnapshotHost.load(spec)
    except FileNotFoundError:
        raise WiringError(f"{spec}: no such recorded host file") from None
    except SnapshotError as exc:
        raise WiringError(str(exc)) from None
    except OSError as exc:
        raise WiringError(f"{spec}: cannot read: {exc.strerror or exc}") from None
