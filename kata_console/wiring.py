"""Turns port specs (`"spawn"`, `unix://...`, `"sim"`, a recorded host file) into
port implementations. The only place that knows which backend answers for which spec;
the engine never imports a backend, and the CLI and console never construct one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from kata_console.engine.lifecycle.sim import (
    DEFAULT_CHECK_TIMEOUT,
    DEFAULT_CREATE_CONTAINER_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    SimAgent,
    SimHypervisor,
)
from kata_console.engine.ports import Agent, HostView, Hypervisor

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


def make_hypervisor(spec: str, *, block_driver: str = "virtio-scsi") -> Hypervisor:
    if spec == "sim":
        return SimHypervisor(block_driver=block_driver)
    raise WiringError(f'unknown hypervisor {spec!r}: only "sim" is available')


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
