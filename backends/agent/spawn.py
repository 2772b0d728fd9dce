"""Start a simulated agent subprocess, or reach a running one: what the engine wires in.

One agent per sandbox, like one per VM: `spawn_agent(run_dir)` starts
`python -m kata_console agent --listen unix://<run_dir>/agent.sock` in that 0700 run
directory, waits until it answers `grpc.Health/Check`, and hands back a `SpawnedAgent`
whose `.client()` is the engine's `Agent` and whose `stop()` belongs in the sandbox's
teardown. `connect(url)` is the same client for an agent that is already running.

    agent = await spawn_agent(sandbox_run_dir, faults=["StartContainer=delay:500"])
    try:
        client = agent.client(create_container_timeout=5, dial_timeout=2)
        await client.create_sandbox(...)
        ...
        await client.close()
    finally:
        await agent.stop()

The agent is started with `--exit-with-parent`, so a crashed console never leaves one
behind, and in its own session, so a Ctrl-C meant for the console does not kill it
before the console has rolled back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc

from backends.agent.client import (
    DEFAULT_CREATE_CONTAINER_TIMEOUT,
    DEFAULT_DIAL_TIMEOUT,
    AgentClient,
)
from backends.agent.control import ControlClient
from backends.agent.faults import parse_fault
from backends.agent.generated import health_pb2, health_pb2_grpc
from backends.agent.listen import UNIX_PATH_MAX
from kata_console.engine.ports import AgentError

SOCKET_NAME = "agent.sock"
LOG_NAME = "agent.log"


def connect(url: str, **options: Any) -> AgentClient:
    """An `AgentClient` for a running agent at `url` (`unix:///path`); no I/O until the
    first call. `options` are `AgentClient`'s (create_container_timeout, dial_timeout,
    on_rpc, on_dead, ...)."""
    return AgentClient(url, **options)


@dataclass(eq=False)
class SpawnedAgent:
    """A running simulated agent subprocess. `stop()` it (or use `async with`)."""

    url: str
    pid: int
    run_dir: Path
    log_path: Path
    process: asyncio.subprocess.Process = field(repr=False)

    @property
    def socket_path(self) -> Path:
        return self.run_dir / SOCKET_NAME

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    def client(
        self,
        *,
        create_container_timeout: float = DEFAULT_CREATE_CONTAINER_TIMEOUT,
        dial_timeout: float = DEFAULT_DIAL_TIMEOUT,
        **options: Any,
    ) -> AgentClient:
        """A new client of this agent (see `connect` for `options`)."""
        return connect(
            self.url,
            create_container_timeout=create_container_timeout,
            dial_timeout=dial_timeout,
            **options,
        )

    def control(self) -> ControlClient:
        """Faults and inspection (`kataconsole.Control`); close it when done."""
        return ControlClient(self.url)

    def log_tail(self, lines: int = 5) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def stop(self, timeout: float = 3.0) -> int:
        """SIGTERM (clean shutdown, socket removed), SIGKILL after `timeout`; idempotent.
        Returns the exit code (negative: killed by that signal)."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                await self.kill()
        self.socket_path.unlink(missing_ok=True)  # left behind only if it was killed
        return self.process.returncode if self.process.returncode is not None else 0

    async def kill(self) -> None:
        """SIGKILL, as a crashed guest: the socket file stays until `stop()`."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        await self.process.wait()

    async def __aenter__(self) -> SpawnedAgent:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class UnsafeRunDir(AgentError):
    """The run directory is refused as it is (unsafe or unusable): the caller's input is
    wrong, so the CLI reports it as bad usage (exit 2) rather than an agent failure."""

    def __init__(self, message: str, code: str = "FAILED_PRECONDITION") -> None:
        super().__init__(message, code)


def _prepare_run_dir(run_dir: Path) -> Path:
    run_dir = run_dir.absolute()
    try:
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        run_dir.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(run_dir)
    except OSError as exc:
        raise UnsafeRunDir(f"cannot prepare {run_dir}: {exc.strerror}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeRunDir(f"refusing {run_dir}: not a directory")
    if st.st_mode & 0o022:
        mode = stat.S_IMODE(st.st_mode)
        raise UnsafeRunDir(f"refusing {run_dir}: group- or world-writable (mode {mode:04o})")
    if st.st_uid != os.geteuid():
        # another user could swap the socket (impersonate the agent) or plant the log
        raise UnsafeRunDir(f"refusing {run_dir}: owned by uid {st.st_uid}")
    sock = run_dir / SOCKET_NAME
    try:
        encoded = str(sock).encode("utf-8")
    except UnicodeEncodeError:
        raise UnsafeRunDir(f"{run_dir}: not valid UTF-8", "INVALID_ARGUMENT") from None
    if len(encoded) > UNIX_PATH_MAX:
        raise UnsafeRunDir(f"{sock}: longer than {UNIX_PATH_MAX} bytes", "INVALID_ARGUMENT")
    return sock


def _accepts(path: Path) -> bool:
    """A plain connect: instant, and unlike a gRPC channel it has no reconnect backoff
    to sit out when it first meets a stale socket left by a killed agent."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


async def _wait_ready(agent: SpawnedAgent, deadline: float) -> None:
    """Ready = the socket accepts and `grpc.Health/Check` answers."""
    while not _accepts(agent.socket_path):
        if agent.process.returncode is not None:
            return
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.02)
    async with grpc.aio.insecure_channel(agent.url) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        remaining = max(0.1, deadline - time.monotonic())
        await stub.Check(health_pb2.CheckRequest(), timeout=remaining, wait_for_ready=True)


async def spawn_agent(
    run_dir: Path,
    faults: Sequence[str] = (),
    *,
    tick_ms: int = 200,
    ready_timeout: float = 10.0,
    python: str = sys.executable,
) -> SpawnedAgent:
    """Start a simulated agent in `run_dir` (created 0700) and wait until it is healthy.

    `faults` use the `--fault` syntax and are checked before anything starts (ValueError).
    `tick_ms` paces the simulated workload's stdout lines. Raises `AgentError`
    (UNAVAILABLE) with the agent's last log lines if it does not come up.
    """
    for spec in faults:
        parse_fault(spec)
    sock = _prepare_run_dir(Path(run_dir))
    url = f"unix://{sock}"
    log_path = sock.parent / LOG_NAME
    cmd = [python, "-m", "kata_console", "agent", "--listen", url, "--tick-ms", str(tick_ms)]
    cmd += ["--exit-with-parent", *(f"--fault={f}" for f in faults)]
    env = {**os.environ, "GRPC_ENABLE_FORK_SUPPORT": "0", "GRPC_VERBOSITY": "ERROR"}
    try:  # never follow a planted symlink: we may be root
        log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise AgentError(f"cannot open {log_path}: {exc.strerror}", "FAILED_PRECONDITION") from None
    with open(log_fd, "ab") as log:
        process = await asyncio.create_subprocess_exec(
            *cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    agent = SpawnedAgent(url, process.pid, sock.parent, log_path, process)
    try:
        await _wait_ready(agent, time.monotonic() + ready_timeout)
    except (TimeoutError, grpc.aio.AioRpcError):
        await agent.stop(timeout=1.0)
        raise AgentError(
            f"agent at {url} not ready within {ready_timeout:g}s: {agent.log_tail(1)}",
            "UNAVAILABLE",
        ) from None
    except BaseException:
        await agent.stop(timeout=1.0)
        raise
    if process.returncode is not None:
        raise AgentError(
            f"agent exited with status {process.returncode}: {agent.log_tail(1)}", "UNAVAILABLE"
        )
    return agent
