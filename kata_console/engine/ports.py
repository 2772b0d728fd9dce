"""The engine's ports: what it needs from the outside world, as `typing.Protocol`s.

The engine never imports a backend. Backends (live kernel, recorded host, gRPC agent,
QEMU, simulated guest) implement these protocols and the application wires them in.
Keeping the ports small is what lets the same lifecycle code drive a real host, a
recorded snapshot, or an in-process simulation.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# --------------------------------------------------------------------------- host


@dataclass(frozen=True, slots=True)
class FileStat:
    """The subset of `struct stat` the resolver uses (a recorded host stores exactly this)."""

    mode: int
    dev: int
    ino: int
    rdev: int = 0
    size: int = 0


@dataclass(frozen=True, slots=True)
class LoopStatus:
    """What `LOOP_GET_STATUS64` says about a bound loop device.

    `device`/`inode` identify the backing file independently of its (possibly stale,
    namespace-relative or truncated) name; `file_name` is the 63-byte `lo_file_name`.
    """

    device: int
    inode: int
    offset: int
    flags: int
    file_name: str


@runtime_checkable
class HostView(Protocol):
    """Read-only questions about a host's mounts, sysfs and files.

    Every method raises `OSError` (with a meaningful errno) when the answer cannot be had:
    a race with the kernel (a loop detached, a file removed) is a normal outcome that the
    resolver turns into a status, never an exception that reaches the user.
    """

    def read_mountinfo(self, pid: int | None = None) -> str:
        """Text of `/proc/<pid>/mountinfo` (`pid=None`: the mount namespace to inspect)."""
        ...

    def read_text(self, path: str) -> str:
        """Content of a small pseudo-file (sysfs), undecoded except UTF-8 with surrogates."""
        ...

    def realpath(self, path: str) -> str:
        """Canonical path (symlinks resolved), like `os.path.realpath(strict=True)`."""
        ...

    def listdir(self, path: str) -> list[str]: ...

    def stat(self, path: str) -> FileStat:
        """`stat(2)`: follows symlinks."""
        ...

    def lstat(self, path: str) -> FileStat: ...

    def statfs_type(self, path: str) -> int:
        """`statfs(2).f_type` (EROFS is 0xE0F5E1E2)."""
        ...

    def loop_status(self, name: str) -> LoopStatus:
        """`LOOP_GET_STATUS64` on `/dev/<name>` (ENXIO when the loop is not bound)."""
        ...


# --------------------------------------------------------------------------- clock / ids


class Clock(Protocol):
    """Wall and monotonic time, injectable so that tests and snapshots are deterministic."""

    def now(self) -> _dt.datetime: ...

    def monotonic(self) -> float: ...


class IdSource(Protocol):
    """Random identifiers (Kata's 16-hex device IDs, exec IDs); injectable for tests."""

    def token_hex(self, nbytes: int) -> str: ...


# --------------------------------------------------------------------------- agent


class AgentError(Exception):
    """An agent call failed. `code` is a gRPC status name (`NOT_FOUND`, `DEADLINE_EXCEEDED`,
    `UNAVAILABLE`, ...) so that the engine can reason about failures whatever the transport;
    `str(error)` is the text an operator sees, as Go's runtime prints it (e.g. `rpc error:
    code = DeadlineExceeded desc = StartContainerRequest timed out`)."""

    def __init__(self, message: str, code: str = "UNKNOWN") -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class Storage:
    """Agent `Storage` message: something the guest must mount (field names as agent.proto)."""

    driver: str
    source: str
    fstype: str
    mount_point: str
    options: list[str] = field(default_factory=list)
    driver_options: list[str] = field(default_factory=list)
    fs_group: Any = None
    shared: bool = False


@dataclass(slots=True)
class GuestDevice:
    """Agent `Device` message: a device the guest must make visible to the container."""

    id: str
    type: str
    vm_path: str = ""
    container_path: str = ""
    options: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CreateContainerRequest:
    container_id: str
    exec_id: str
    storages: list[Storage] = field(default_factory=list)
    devices: list[GuestDevice] = field(default_factory=list)
    oci: Mapping[str, Any] = field(default_factory=dict)
    sandbox_pidns: bool = False
    string_user: str = ""


@dataclass(slots=True)
class CreateSandboxRequest:
    sandbox_id: str
    hostname: str = ""
    dns: list[str] = field(default_factory=list)
    storages: list[Storage] = field(default_factory=list)
    sandbox_pidns: bool = False
    guest_hook_path: str = ""
    kernel_modules: list[str] = field(default_factory=list)


@dataclass(slots=True)
class GuestDetails:
    mem_block_size_bytes: int = 0
    support_mem_hotplug_probe: bool = False
    agent_version: str = ""
    supports_seccomp: bool = False
    device_handlers: list[str] = field(default_factory=list)
    storage_handlers: list[str] = field(default_factory=list)


class Agent(Protocol):
    """The guest agent API subset the lifecycle calls (kata-engine.md §5.1).

    Implementations: `SimAgent` (in-process), the gRPC client (a real process boundary).
    Every failure raises `AgentError`. Deadlines are the implementation's business and
    follow Kata's `getReqContext` (CreateContainer configurable, Check 30 s, WaitProcess and
    GetOOMEvent none, others 60 s); a deadline gives `errors.deadline_text(<RPC>)`.
    """

    async def check(self) -> None: ...

    async def create_sandbox(self, request: CreateSandboxRequest) -> None: ...

    async def destroy_sandbox(self) -> None: ...

    async def get_guest_details(self) -> GuestDetails: ...

    async def create_container(self, request: CreateContainerRequest) -> None: ...

    async def start_container(self, container_id: str) -> None: ...

    async def remove_container(self, container_id: str, timeout: int = 0) -> None: ...

    async def exec_process(
        self, container_id: str, exec_id: str, process: Mapping[str, Any]
    ) -> None: ...

    async def signal_process(self, container_id: str, exec_id: str, signal: int) -> None: ...

    async def wait_process(self, container_id: str, exec_id: str) -> int: ...

    async def pause_container(self, container_id: str) -> None: ...

    async def resume_container(self, container_id: str) -> None: ...

    async def update_container(self, container_id: str, resources: Mapping[str, Any]) -> None: ...

    async def stats_container(self, container_id: str) -> dict[str, Any]: ...

    async def tty_win_resize(
        self, container_id: str, exec_id: str, row: int, column: int
    ) -> None: ...

    async def remove_stale_virtiofs_share_mounts(self) -> None: ...

    async def read_stdout(self, container_id: str, exec_id: str, length: int) -> bytes: ...

    async def close(self) -> None: ...


# --------------------------------------------------------------------------- hypervisor


class HypervisorError(Exception):
    """A hypervisor operation (VM start/stop, hotplug) failed."""


class Hypervisor(Protocol):
    """The VM side: start/stop the VM, hot-plug block drives.

    Implementations: `SimHypervisor` (in-process) and QEMU over QMP. `drive` is the engine's
    `BlockDrive`; a hotplug may fill in guest-side addressing (e.g. `pci_path`).
    """

    async def start_vm(self, sandbox_id: str) -> None: ...

    async def stop_vm(self) -> None: ...

    async def check(self) -> None: ...

    async def hotplug_add_block(self, drive: Any) -> None: ...

    async def hotplug_remove_block(self, drive: Any) -> None: ...

    def agent_url(self) -> str:
        """Where the guest agent answers (persisted as `AgentState.URL`)."""
        ...

    def save_state(self) -> dict[str, Any] | None:
        """Go `hypervisor.Save()`: `HypervisorState` fields (Type, UUID, Pid, Bridges...;
        `{}` once the VM is stopped, as QEMU's), or None for "nothing of mine: keep what
        persist.json had" (a sandbox restored from disk whose VM this process never ran)."""
        ...

    def load_state(self, state: dict[str, Any]) -> None:
        """Go `hypervisor.Load()`: the `HypervisorState` read at restore."""
        ...

    def facts(self) -> Sequence[tuple[str, str]]:
        """(label, value) pairs for the console's hypervisor panel."""
        ...


# --------------------------------------------------------------------------- host inspection
# The facts types live in kata_console.engine.inspect.facts; every port below answers with
# them. A fact that cannot be had is a status inside the answer (`error`), never an
# exception: a read-only console keeps showing every other sandbox.


class ProcessSource(Protocol):
    """Kata's processes on this host (psutil live; a recording replayed)."""

    def scan(self) -> Sequence[Any]:
        """Every shim, VMM and virtiofsd process, described (`ProcessFacts`), in pid
        order. Cheap enough to call every refresh: one `process_iter` pass, then only the
        matches are described."""
        ...


class NetnsSource(Protocol):
    """Network namespaces, read only: a missing namespace is reported, never created."""

    def inspect(self, netns: str) -> Any:
        """`NetnsFacts` for `netns` (a path such as `/var/run/netns/cni-...`, or a name)."""
        ...

    def close(self) -> None:
        """Release the per-namespace handles kept across refreshes."""
        ...


class ShimSource(Protocol):
    """The shim's management socket: HTTP over a unix socket, GET only."""

    def agent_url(self, socket: str) -> Any:
        """`ShimFacts` with `GET /agent-url` (or why the shim is unreachable)."""
        ...

    def metrics(self, socket: str) -> Any:
        """`ShimFacts` with headline figures from `GET /metrics`. Only on request: the shim
        asks the guest agent for its metrics on every scrape."""
        ...


class StateFiles(Protocol):
    """The files of Kata's state directories (`/run/vc/sbs`, `/run/kata`), read only.
    `LinuxHost` and recorded hosts answer it; errors are `OSError` with an errno."""

    def listdir(self, path: str) -> list[str]: ...

    def lstat(self, path: str) -> FileStat: ...

    def read_bytes(self, path: str) -> bytes:
        """A regular file's bytes (not through a final symlink; bounded in size)."""
        ...


class HostInfoSource(Protocol):
    """The machine: hostname, kernel, uptime, CPUs, memory (`HostFacts`)."""

    def host_facts(self) -> Any: ...
