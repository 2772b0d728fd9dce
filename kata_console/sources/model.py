"""The console's view model: what every screen shows, as plain data, and the source port.

Screens never talk to the engine, the host or an agent. A `ConsoleSource` (fixture, host,
engine-backed demo, plan) fills these dataclasses; the app renders them. Keeping this
module free of textual lets sources be written and tested headless, and lets the engine
adapter be swapped without touching a widget.
"""

from __future__ import annotations

import datetime as _dt
import signal as _signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from kata_console.engine.inspect.facts import NetnsFacts, ProcessFacts, ShimFacts
    from kata_console.engine.mounts.chainmodel import Chain, ChainReport

#: measured, never inferred from a state: `ok` the agent's last answer came back, `dead` an RPC
#: or health check found it unreachable, `stopped` it went with its VM, `unknown` not asked yet
AgentHealth = Literal["ok", "dead", "stopped", "unknown"]

#: lifecycle operations the console can ask a source to run (the `play` plan vocabulary)
SANDBOX_OPS = ("create_sandbox", "start_sandbox", "stop_sandbox", "delete_sandbox")
CONTAINER_OPS = (
    "create_container",
    "start_container",
    "stop_container",
    "pause_container",
    "resume_container",
    "kill_container",
    "delete_container",
)
MUTATING_OPS = frozenset(SANDBOX_OPS + CONTAINER_OPS)


class ConsoleError(Exception):
    """An operation or load failed in a way the user should read (one line, no traceback)."""


@dataclass(slots=True)
class DeviceView:
    """One entry of a sandbox's device manager (the `play --json` device shape)."""

    id: str
    host_path: str
    kind: str
    refcount: int
    attach_count: int
    index: int | None = None
    address: str | None = None
    read_only: bool = False
    #: what the host shows for the same backing file (the erofs mount holding it), when
    #: the source inspects a host; None when it does not
    host_side: str | None = None
    #: the host's block device for the same backing file (`loop0 7:0`, and why it is not
    #: fine when it is not), when the source inspects a host; None when it does not
    host_device: str | None = None
    #: where the VM's hypervisor has this device (QEMU's `query-block`: its guest address,
    #: or "" when QEMU does not list it); None when the hypervisor cannot be asked
    vm: str | None = None


@dataclass(slots=True)
class ContainerView:
    """A container as the console shows it; `chain` is its resolved rootfs, if any."""

    id: str
    sandbox_id: str
    state: str
    rootfs_kind: str
    layers: int = 0
    pid: int | None = None
    chain: Chain | None = None
    kata_error: str | None = None
    devices: list[str] = field(default_factory=list)
    #: how the container's process ended, as the agent's WaitProcess reported it
    #: (`143 SIGTERM`, `0`); None while it runs or when nobody waited for it
    exit: str | None = None


@dataclass(slots=True)
class SandboxView:
    """A sandbox with its containers and devices; `facts` are free-form key/value rows
    (agent address, hypervisor pid, block driver ...) shown on the sandbox screen."""

    id: str
    state: str
    hypervisor: str
    agent_health: AgentHealth
    containers: list[ContainerView] = field(default_factory=list)
    devices: list[DeviceView] = field(default_factory=list)
    created: _dt.datetime | None = None
    facts: list[tuple[str, str]] = field(default_factory=list)
    #: the host's side of the sandbox (sources that inspect a host): its processes, its
    #: network namespace, its shim socket, and what could not be read
    processes: list[ProcessFacts] = field(default_factory=list)
    network: NetnsFacts | None = None
    shim: ShimFacts | None = None
    #: which of those come from a recording shown beside live facts (the demo's node:
    #: "network", "shim"), not from this machine: the views say so
    recorded: tuple[str, ...] = ()
    errors: list[str] = field(default_factory=list)
    #: block nodes the VM's hypervisor lists that no engine device accounts for (QEMU's
    #: `query-block`: node, file, address); None when the hypervisor cannot be asked
    vm_only: list[dict[str, Any]] | None = None

    def container(self, container_id: str) -> ContainerView | None:
        return next((c for c in self.containers if c.id == container_id), None)


@dataclass(slots=True)
class LogLine:
    """One line of the merged log: an engine event, an agent record or container output.

    `fields` carries Kata's logrus fields; `sandbox` and `container` there scope the line
    to a resource so a container's pane shows only its own lines.
    """

    time: _dt.datetime
    source: str  # engine | agent | stdout | stderr | console
    level: str  # debug | info | warning | error
    text: str
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def sandbox_id(self) -> str | None:
        value = self.fields.get("sandbox")
        return str(value) if value is not None else None

    @property
    def container_id(self) -> str | None:
        value = self.fields.get("container")
        return str(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class StateChanged:
    """A resource changed; the app reloads (coalesced) and badges update. `container_id`
    None means the sandbox itself; `state` None means "something changed, reload"."""

    sandbox_id: str
    container_id: str | None = None
    state: str | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """A mutating operation the user asked for, before confirmation."""

    op: str
    sandbox_id: str
    container_id: str | None = None

    def __post_init__(self) -> None:
        if self.op not in MUTATING_OPS:
            raise ValueError(f"unknown operation {self.op!r}")
        if (self.op in CONTAINER_OPS) != (self.container_id is not None):
            raise ValueError(
                f"{self.op} needs {'a' if self.op in CONTAINER_OPS else 'no'} container"
            )

    @property
    def target(self) -> str:
        """`sandbox/container` or `sandbox`: what the operation is about, for messages."""
        return f"{self.sandbox_id}/{self.container_id}" if self.container_id else self.sandbox_id


SourceEvent = LogLine | StateChanged
Unsubscribe = Callable[[], None]


@runtime_checkable
class ConsoleSource(Protocol):
    """What the console needs from a source of sandboxes (fixture, host, engine demo, plan).

    Threading: `subscribe` callbacks may be called from any thread; the app only appends
    the event to a queue there and drains it on a timer, so a callback never touches a
    widget. Every other method is called on the app's event loop; blocking work belongs
    in `asyncio.to_thread` inside the source.
    """

    #: short name shown in the top bar (demo, host, plan:FILE, fixture)
    name: str
    #: True: mutating operations are refused unless the user passed --allow-actions
    read_only: bool
    #: why the source is read-only (shown in the status line), "" when it is not
    read_only_reason: str
    #: True: the data is a demonstration (the top bar shows a DEMO marker)
    demo: bool

    def now(self) -> _dt.datetime:
        """The source's clock (frozen for fixtures) so ages are deterministic."""
        ...

    async def load(self) -> list[SandboxView]:
        """Every sandbox, fresh; called at start, on StateChanged and on refresh."""
        ...

    async def chains(self) -> ChainReport:
        """Every overlay and erofs mount of the inspected host (the chains screen)."""
        ...

    def logs(self) -> list[LogLine]:
        """Lines already produced before the app subscribed (oldest first)."""
        ...

    def subscribe(self, callback: Callable[[SourceEvent], None]) -> Unsubscribe:
        """Call `callback` with every new LogLine and StateChanged until unsubscribed."""
        ...

    def describe(self, op: Operation) -> str:
        """The exact operation text for the confirmation modal
        (e.g. `RPC StartContainer{container_id="c1"}`)."""
        ...

    async def run_op(self, op: Operation) -> str | None:
        """Run the operation; raise ConsoleError with the engine's text on failure. May
        return a note the resource's row alone would not tell (how a killed process ended)."""
        ...

    # Optional: `refusal(op) -> str | None`, why `op` cannot apply to the resource as it is
    # now (None: it may run). The app asks it before the confirmation, so an operation that
    # cannot apply is refused with its reason instead of previewing RPCs that would fail.


def findings_scope(source: object) -> str:
    """How far doctor's rules got on a source's facts: "" every rule checked, "partial"
    some could not (the source's `findings_gap` says which and why), "not run" none ran
    (nothing to check: `findings_gap` says why). A source without findings gives ""."""
    if getattr(source, "findings_ran", True) is False:
        return "not run"
    return "partial" if getattr(source, "findings_gap", "") else ""


def format_age(created: _dt.datetime | None, now: _dt.datetime) -> str:
    """k9s-style compact age (`45s`, `12m`, `3h4m`, `2d5h`); `-` when unknown."""
    if created is None:
        return "-"
    seconds = max(0, int((now - created).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, _ = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours}h" if hours else f"{days}d"


def exit_text(status: int) -> str:
    """A process exit as WaitProcess reports it: `0`, `1`, or `143 SIGTERM` (above 128 the
    status is 128 + the signal that ended the process, as a shell reports it)."""
    if status > 128:
        try:
            name = _signal.Signals(status - 128).name
        except ValueError:
            name = f"signal {status - 128}"
        return f"{status} {name}"
    return str(status)


def find_container(
    sandboxes: list[SandboxView], container_id: str
) -> tuple[SandboxView, ContainerView] | None:
    """The first container with this id (container ids are unique per sandbox only)."""
    for sb in sandboxes:
        found = sb.container(container_id)
        if found is not None:
            return sb, found
    return None
