"""Turns port specs (`"sim"`, a recorded host file, later `"spawn"` / `unix://...`) into
port implementations. The only place that knows which backend answers for which spec;
the engine never imports a backend, and the CLI and console never construct one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from kata_console.engine.ports import Agent, HostView, Hypervisor
from kata_console.engine.sim import (
    DEFAULT_CHECK_TIMEOUT,
    DEFAULT_CREATE_CONTAINER_TIMEOUT,
    DEFAULT_REQUEST_TIMEOUT,
    SimAgent,
    SimHypervisor,
)

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
) -> tuple[Agent, AgentCloser]:
    """The agent for `spec` and the coroutine that closes it. `run_dir` is where a spawned
    agent would keep its socket. Only `"sim"` is wired so far."""
    if spec == "sim":
        agent = SimAgent(
            create_container_timeout=create_container_timeout,
            request_timeout=request_timeout,
            check_timeout=check_timeout,
        )
        return agent, agent.close
    if spec == "spawn" or spec.startswith("unix://"):
        raise WiringError(f'agent {spec!r} is not wired yet: only "sim" is available in this build')
    raise WiringError(f'unknown agent {spec!r}: expected "sim", "spawn" or "unix://PATH"')


def make_hypervisor(spec: str, *, block_driver: str = "virtio-scsi") -> Hypervisor:
    if spec == "sim":
        return SimHypervisor(block_driver=block_driver)
    raise WiringError(f'unknown hypervisor {spec!r}: only "sim" is available')


def make_host_view(spec: str | None) -> HostView | None:
    """None: no host to inspect (EROFS layers must then be named in the plan). A path: a
    recorded host snapshot (`fixtures/hosts/*.json`)."""
    if spec is None:
        return None
    from backends.host.snapshot import SnapshotError, SnapshotHost

    try:
        return SnapshotHost.load(spec)
    except FileNotFoundError:
        raise WiringError(f"{spec}: no such recorded host file") from None
    except SnapshotError as exc:
        raise WiringError(str(exc)) from None
    except OSError as exc:
        raise WiringError(f"{spec}: cannot read: {exc.strerror or exc}") from None
