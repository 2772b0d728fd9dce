"""The simulated guest: what a Kata guest agent tracks, without a VM behind it.

This is a test double for a real Kata guest (kata-agent inside the VM), which cannot
exist in a unit test or on a laptop without KVM. It keeps the parts of the agent's
behaviour a runtime depends on: one sandbox, containers and processes by id, the status
codes a real agent gives for out-of-order calls, a workload per process that writes
timestamped stdout lines, WaitProcess blocking until the process dies, growing cgroup
stats, and the storages and devices it was asked to provide (so the console can show
what the guest would mount). It knows nothing of gRPC: `server.py` maps `GuestError`
onto status codes.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import time
from dataclasses import dataclass, field

from backends.agent.generated import agent_pb2

#: signals whose default action does not end the process (CHLD, CONT, STOP, TSTP,
#: TTIN, TTOU, URG, WINCH); every other signal ends the simulated workload.
_NON_FATAL = frozenset({0, 17, 18, 19, 20, 21, 22, 23, 28})
_STDOUT_CAP = 256 * 1024
ESRCH_TEXT = "ESRCH: No such process"


class GuestError(Exception):
    """An agent call the guest refuses; `code` is the gRPC status name a real agent uses."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(eq=False)
class Process:
    exec_id: str
    pid: int
    args: list[str]
    label: str
    state: str = "created"  # created | running | exited
    exit_status: int = 0
    stdout: bytearray = field(default_factory=bytearray)
    stdin_closed: bool = False
    tty: tuple[int, int] = (0, 0)
    readable: asyncio.Event = field(default_factory=asyncio.Event)
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def write(self, data: bytes) -> None:
        """Append to stdout; when nobody reads, the oldest output is dropped (a real pipe
        would block the writer, which a simulation has no use for)."""
        self.stdout += data
        if len(self.stdout) > _STDOUT_CAP:
            del self.stdout[: len(self.stdout) - _STDOUT_CAP]
        self.readable.set()

    def finish(self, status: int) -> None:
        if self.state == "exited":
            return
        self.state, self.exit_status = "exited", status
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
        self.exited.set()
        self.readable.set()


@dataclass(eq=False)
class Container:
    container_id: str
    request: agent_pb2.CreateContainerRequest
    init: Process
    state: str = "created"  # created | running | paused | stopped
    execs: dict[str, Process] = field(default_factory=dict)
    resources: agent_pb2.LinuxResources | None = None
    running_seconds: float = 0.0
    running_since: float | None = None
    stats_calls: int = 0

    def processes(self) -> list[Process]:
        return [self.init, *self.execs.values()]

    def run_clock(self, running: bool) -> None:
        """Account running time (stats grow only while the workload runs)."""
        now = time.monotonic()
        if self.running_since is not None:
            self.running_seconds += now - self.running_since
        self.running_since = now if running else None

    def uptime(self) -> float:
        extra = time.monotonic() - self.running_since if self.running_since is not None else 0.0
        return self.running_seconds + extra


def _timestamp() -> str:
    now = _dt.datetime.now(_dt.UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class Guest:
    """One guest's state. All methods run on the server's event loop (no locking needed)."""

    def __init__(self, tick_seconds: float = 0.2) -> None:
        self.tick_seconds = tick_seconds
        self.sandbox: agent_pb2.CreateSandboxRequest | None = None
        self.containers: dict[str, Container] = {}
        self.oom_events: asyncio.Queue[str] = asyncio.Queue()
        self._next_pid = 2  # the agent is PID 1 (init_daemon)

    # ------------------------------------------------------------------ lookups

    def container(self, cid: str) -> Container:
        try:
            return self.containers[cid]
        except KeyError:
            raise GuestError("NOT_FOUND", f"container {cid} not found") from None

    def process(self, cid: str, eid: str) -> Process:
        """The process `eid` of `cid`; an empty exec id (or the init's) is the init process."""
        ctr = self.container(cid)
        if not eid or eid == ctr.init.exec_id:
            return ctr.init
        try:
            return ctr.execs[eid]
        except KeyError:
            raise GuestError("NOT_FOUND", f"process {eid} not found in container {cid}") from None

    def _pid(self) -> int:
        pid, self._next_pid = self._next_pid, self._next_pid + 1
        return pid

    # ------------------------------------------------------------------ sandbox

    def create_sandbox(self, req: agent_pb2.CreateSandboxRequest) -> None:
        if self.sandbox is not None:
            raise GuestError("ALREADY_EXISTS", f"sandbox {self.sandbox.sandbox_id} already created")
        if not req.sandbox_id:
            raise GuestError("INVALID_ARGUMENT", "sandbox_id is empty")
        self.sandbox = agent_pb2.CreateSandboxRequest()
        self.sandbox.CopyFrom(req)

    def destroy_sandbox(self) -> None:
        if self.sandbox is None:
            raise GuestError("FAILED_PRECONDITION", "sandbox not created")
        for cid in list(self.containers):
            self._kill_all(self.containers.pop(cid), 9)
        self.sandbox = None

    # ------------------------------------------------------------------ containers

    def create_container(self, req: agent_pb2.CreateContainerRequest) -> None:
        if self.sandbox is None:
            raise GuestError("FAILED_PRECONDITION", "sandbox not created")
        cid = req.container_id
        if not cid:
            raise GuestError("INVALID_ARGUMENT", "container_id is empty")
        if cid in self.containers:
            raise GuestError("ALREADY_EXISTS", f"container {cid} already exists")
        stored = agent_pb2.CreateContainerRequest()
        stored.CopyFrom(req)
        args = list(req.OCI.Process.Args) or ["/pause"]
        init = Process(req.exec_id or cid, self._pid(), args, cid)
        self.containers[cid] = Container(cid, stored, init)

    def start_container(self, cid: str) -> None:
        ctr = self.container(cid)
        if ctr.state != "created":
            raise GuestError("FAILED_PRECONDITION", f"container {cid} is {ctr.state}, not created")
        ctr.state = "running"
        ctr.run_clock(True)
        self._run(ctr, ctr.init)

    def remove_container(self, cid: str) -> None:
        """A real agent kills whatever still runs and waits for it: so does this one."""
        self._kill_all(self.container(cid), 9)
        del self.containers[cid]

    def pause_container(self, cid: str) -> None:
        ctr = self.container(cid)
        if ctr.state != "running":
            raise GuestError("FAILED_PRECONDITION", f"container {cid} is {ctr.state}, not running")
        ctr.state = "paused"
        ctr.run_clock(False)

    def resume_container(self, cid: str) -> None:
        ctr = self.container(cid)
        if ctr.state != "paused":
            raise GuestError("FAILED_PRECONDITION", f"container {cid} is {ctr.state}, not paused")
        ctr.state = "running"
        ctr.run_clock(True)

    def update_container(self, cid: str, resources: agent_pb2.LinuxResources) -> None:
        ctr = self.container(cid)
        if ctr.state == "stopped":
            raise GuestError("FAILED_PRECONDITION", f"container {cid} is stopped")
        ctr.resources = resources

    # ------------------------------------------------------------------ processes

    def exec_process(self, req: agent_pb2.ExecProcessRequest) -> None:
        ctr = self.container(req.container_id)
        if not req.exec_id:
            raise GuestError("INVALID_ARGUMENT", "exec_id is empty")
        if req.exec_id in ctr.execs or req.exec_id == ctr.init.exec_id:
            raise GuestError("ALREADY_EXISTS", f"process {req.exec_id} already exists")
        if ctr.state != "running":
            raise GuestError(
                "FAILED_PRECONDITION", f"container {ctr.container_id} is {ctr.state}, not running"
            )
        proc = Process(
            req.exec_id, self._pid(), list(req.process.Args), f"{ctr.container_id}/{req.exec_id}"
        )
        ctr.execs[req.exec_id] = proc
        self._run(ctr, proc)

    def signal_process(self, cid: str, eid: str, sig: int) -> None:
        """An empty exec id signals every process; a dead target gives the ESRCH text the
        Go runtime recognises (and swallows when stopping a container that already died)."""
        ctr = self.container(cid)
        targets = ctr.processes() if not eid else [self.process(cid, eid)]
        live = [p for p in targets if p.state != "exited"]
        if not live:
            raise GuestError("INTERNAL", f"failed to signal process {eid or cid}: {ESRCH_TEXT}")
        if sig in _NON_FATAL:
            return
        for proc in live:
            proc.finish(128 + sig)
        self._settle(ctr)

    async def wait_process(self, cid: str, eid: str) -> int:
        proc = self.process(cid, eid)
        await proc.exited.wait()
        return proc.exit_status

    def write_stdin(self, cid: str, eid: str, data: bytes) -> int:
        """The workload echoes stdin to stdout, like `cat`, so a console can see input land."""
        proc = self.process(cid, eid)
        if proc.state != "running" or proc.stdin_closed:
            raise GuestError("FAILED_PRECONDITION", f"stdin of process {proc.exec_id} is closed")
        proc.write(data)
        return len(data)

    def close_stdin(self, cid: str, eid: str) -> None:
        self.process(cid, eid).stdin_closed = True

    async def read_stdout(self, cid: str, eid: str, length: int) -> bytes:
        """Block until output is there, like a pipe read; `EOF` once the process has exited
        and its output is drained (the real agent also errors at EOF)."""
        proc = self.process(cid, eid)
        while not proc.stdout:
            if proc.state == "exited":
                raise GuestError("OUT_OF_RANGE", "EOF")
            proc.readable.clear()
            await proc.readable.wait()
        n = length or len(proc.stdout)
        data = bytes(proc.stdout[:n])
        del proc.stdout[:n]
        return data

    async def read_stderr(self, cid: str, eid: str) -> bytes:
        """The simulated workload never writes to stderr: block until EOF."""
        proc = self.process(cid, eid)
        await proc.exited.wait()
        raise GuestError("OUT_OF_RANGE", "EOF")

    def tty_win_resize(self, cid: str, eid: str, row: int, column: int) -> None:
        proc = self.process(cid, eid)
        if proc.state == "exited":
            raise GuestError("FAILED_PRECONDITION", f"process {proc.exec_id} has exited")
        proc.tty = (row, column)

    # ------------------------------------------------------------------ stats / oom

    def stats(self, cid: str) -> agent_pb2.StatsContainerResponse:
        """Cgroup stats that grow with the workload's running time, plus a little per
        call so that two samples always differ (a console computes rates from deltas)."""
        ctr = self.container(cid)
        ctr.stats_calls += 1
        up, calls = ctr.uptime(), ctr.stats_calls
        cpu_ns = int(up * 50_000_000) + calls * 1_000
        mem = (8 << 20) + min(int(up * 65_536), 256 << 20) + calls * 4_096
        limit = ctr.resources.Memory.Limit if ctr.resources and ctr.resources.Memory.Limit else 0
        live = sum(1 for p in ctr.processes() if p.state != "exited")
        resp = agent_pb2.StatsContainerResponse()
        cg = resp.cgroup_stats
        cg.cpu_stats.cpu_usage.total_usage = cpu_ns
        cg.cpu_stats.cpu_usage.percpu_usage.extend([cpu_ns // 2, cpu_ns - cpu_ns // 2])
        cg.cpu_stats.cpu_usage.usage_in_usermode = cpu_ns * 3 // 4
        cg.cpu_stats.cpu_usage.usage_in_kernelmode = cpu_ns - cpu_ns * 3 // 4
        cg.memory_stats.usage.usage = mem
        cg.memory_stats.usage.max_usage = mem
        cg.memory_stats.usage.limit = max(limit, 0)
        cg.memory_stats.cache = mem // 8
        cg.memory_stats.use_hierarchy = True
        cg.memory_stats.stats["rss"] = mem - mem // 8
        cg.pids_stats.current = live
        net = resp.network_stats.add(name="eth0")
        net.rx_bytes, net.rx_packets = int(up * 2_048) + calls * 64, int(up * 8) + calls
        net.tx_bytes, net.tx_packets = int(up * 1_024) + calls * 64, int(up * 4) + calls
        return resp

    def inject_oom(self, cid: str) -> None:
        ctr = self.container(cid)
        if ctr.state not in ("running", "paused"):
            raise GuestError("FAILED_PRECONDITION", f"container {cid} is {ctr.state}, not running")
        self._kill_all(ctr, 9)
        self.oom_events.put_nowait(cid)

    # ------------------------------------------------------------------ workload

    def _run(self, ctr: Container, proc: Process) -> None:
        proc.state = "running"
        proc.task = asyncio.get_running_loop().create_task(self._workload(ctr, proc))

    async def _workload(self, ctr: Container, proc: Process) -> None:
        proc.write(f"{_timestamp()} {proc.label}: started {' '.join(proc.args)}\n".encode())
        tick = 0
        while proc.state == "running":
            await asyncio.sleep(self.tick_seconds)
            if ctr.state == "running" and proc.state == "running":
                tick += 1
                proc.write(f"{_timestamp()} {proc.label}: tick {tick}\n".encode())

    def _kill_all(self, ctr: Container, sig: int) -> None:
        for proc in ctr.processes():
            proc.finish(128 + sig)
        self._settle(ctr)

    def _settle(self, ctr: Container) -> None:
        """The container stops when its init process is gone (exec'd ones die with it)."""
        if ctr.init.state == "exited" and ctr.state != "stopped":
            for proc in ctr.execs.values():
                proc.finish(128 + 9)
            ctr.state = "stopped"
            ctr.run_clock(False)
