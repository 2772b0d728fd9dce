"""Ordered, structured engine events and the `Stepper` gate (the console's step-through).

Every operation narrates itself: `step.begin` says precisely what is about to happen
(`RPC StartContainer{container_id="c1"}`, `hotplug block drive-... (virtio-scsi 0:2)
file=... ro`), `step.end` carries the duration or the error, `state` records a state
change and `log` carries a record with Kata's logrus fields (`subsystem`, `sandbox`,
`container`). Subscribers are called synchronously, in order, on the engine's thread, so
they must be cheap: the TUI only appends to a queue and renders in batches.

The `Stepper` decides whether the engine may run the next step. By default it lets every
step through without awaiting anything (the benchmark path); when held, each step waits
for `release()`, and a `step.held` event tells the console what is waiting.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import datetime as _dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from kata_console.engine.clock import SystemClock
from kata_console.engine.gofmt import go_quote
from kata_console.engine.ports import AgentError, Clock

STEP_HELD = "step.held"
STEP_BEGIN = "step.begin"
STEP_END = "step.end"
STATE = "state"
LOG = "log"
OP_BEGIN = "op.begin"
OP_END = "op.end"

#: the container on whose behalf the engine is acting (device hot-plugs are sandbox-level
#: in Go, but an operator wants them in the container's pane too)
acting_for: contextvars.ContextVar[str | None] = contextvars.ContextVar("acting_for", default=None)


@dataclass(frozen=True, slots=True)
class Event:
    """One engine event. `step` links a step's held/begin/end; `fields` are logrus fields.

    `status` on a `step.end` is `OK` or the failure's gRPC code (agent) or class name.
    """

    seq: int
    time: _dt.datetime
    kind: str
    text: str
    sandbox: str
    container: str | None = None
    step: int | None = None
    duration: float | None = None
    error: str | None = None
    status: str | None = None
    level: str = "info"
    fields: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (`play --events --json`, recordings)."""
        return {
            "seq": self.seq,
            "time": self.time.isoformat(),
            "kind": self.kind,
            "text": self.text,
            "sandbox": self.sandbox,
            "container": self.container,
            "step": self.step,
            "duration": self.duration,
            "error": self.error,
            "status": self.status,
            "level": self.level,
            "fields": dict(self.fields),
        }


Subscriber = Callable[[Event], None]


class Stepper:
    """Gate before each step. Free-running by default; `hold()` makes every step wait for
    `release()`. Releases given while nothing waits are kept as credit for the next steps,
    so a key pressed slightly early is not lost. Waiters are released in arrival order."""

    def __init__(self, *, hold: bool = False) -> None:
        self._holding = hold
        self._credit = 0
        self._waiters: collections.deque[tuple[asyncio.Future[None], str]] = collections.deque()

    @property
    def holding(self) -> bool:
        return self._holding

    @property
    def waiting(self) -> list[str]:
        """Descriptions of the steps currently held, oldest first."""
        return [text for fut, text in self._waiters if not fut.done()]

    def hold(self) -> None:
        self._holding = True

    def run_freely(self) -> None:
        """Stop holding and let every waiting step go."""
        self._holding = False
        self._credit = 0
        while self._waiters:
            fut, _ = self._waiters.popleft()
            if not fut.done():
                fut.set_result(None)

    def release(self, count: int = 1) -> int:
        """Let `count` steps proceed; returns how many waiting steps were woken now."""
        woken = 0
        while count > 0 and self._waiters:
            fut, _ = self._waiters.popleft()
            if fut.done():  # its task was cancelled
                continue
            fut.set_result(None)
            woken += 1
            count -= 1
        self._credit += count
        return woken

    def must_wait(self) -> bool:
        """True when the next step will block (no await needed otherwise)."""
        return self._holding and self._credit == 0

    async def wait(self, description: str) -> None:
        if not self._holding:
            return
        if self._credit > 0:
            self._credit -= 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((fut, description))
        await fut


class EventBus:
    """Numbers events, keeps the last `history` of them and calls subscribers in order.

    A subscriber that raises is dropped from that event only and reported as a log event:
    a broken view must not break the engine.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        stepper: Stepper | None = None,
        history: int = 5000,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.stepper = stepper or Stepper()
        self.history: collections.deque[Event] = collections.deque(maxlen=history)
        self._subscribers: list[Subscriber] = []
        self._seq = itertools.count(1)
        self._steps = itertools.count(1)

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        self._subscribers.append(callback)

        def unsubscribe() -> None:
            if callback in self._subscribers:
                self._subscribers.remove(callback)

        return unsubscribe

    def emit(
        self, kind: str, text: str, sandbox: str, container: str | None = None, **kw: Any
    ) -> Event:
        event = Event(next(self._seq), self.clock.now(), kind, text, sandbox, container, **kw)
        self.history.append(event)
        for callback in tuple(self._subscribers):
            try:
                callback(event)
            except Exception as exc:  # a view bug must not break the lifecycle
                self.history.append(
                    Event(
                        next(self._seq),
                        event.time,
                        LOG,
                        f"event subscriber failed: {exc!r}",
                        sandbox,
                        container,
                        level="error",
                        fields={"subsystem": "events"},
                    )
                )
        return event

    def log(
        self,
        level: str,
        message: str,
        *,
        subsystem: str,
        sandbox: str,
        container: str | None = None,
        **extra: Any,
    ) -> Event:
        """A record with Kata's logrus fields (`source=virtcontainers`, `subsystem`, ...)."""
        fields: dict[str, Any] = {
            "source": "virtcontainers",
            "subsystem": subsystem,
            "sandbox": sandbox,
        }
        if container is not None:
            fields["container"] = container
        fields.update(extra)
        return self.emit(LOG, message, sandbox, container, level=level, fields=fields)

    def step(
        self, description: str, *, sandbox: str, container: str | None = None, gate: bool = True
    ) -> Step:
        """`async with bus.step("RPC ..."):` gates, emits begin, then end with timing/error.
        `gate=False` for bookkeeping steps (saves) that a step-through should not stop at."""
        return Step(
            self,
            description,
            sandbox,
            container if container is not None else acting_for.get(),
            gate,
        )

    def recent(self, kinds: frozenset[str] | None = None) -> Iterator[Event]:
        return (e for e in self.history if kinds is None or e.kind in kinds)


class Step:
    """One gated, timed step; exceptions propagate unchanged (the engine decides on force)."""

    __slots__ = ("_bus", "_t0", "container", "description", "gate", "id", "result", "sandbox")

    def __init__(
        self,
        bus: EventBus,
        description: str,
        sandbox: str,
        container: str | None,
        gate: bool = True,
    ) -> None:
        self._bus = bus
        self.gate = gate
        self.description = description
        self.sandbox = sandbox
        self.container = container
        self.id = next(bus._steps)
        self._t0 = 0.0
        #: what the step got back (a QMP reply), set inside the block; on its end event
        self.result: str | None = None

    async def __aenter__(self) -> Step:
        bus = self._bus
        if self.gate and bus.stepper.holding:
            if bus.stepper.must_wait():
                bus.emit(STEP_HELD, self.description, self.sandbox, self.container, step=self.id)
            await bus.stepper.wait(self.description)
        bus.emit(STEP_BEGIN, self.description, self.sandbox, self.container, step=self.id)
        self._t0 = bus.clock.monotonic()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        bus = self._bus
        duration = bus.clock.monotonic() - self._t0
        if exc is None:
            bus.emit(
                STEP_END,
                self.description,
                self.sandbox,
                self.container,
                step=self.id,
                duration=duration,
                status="OK",
                **({"fields": {"result": self.result}} if self.result is not None else {}),
            )
            return
        status = exc.code if isinstance(exc, AgentError) else type(exc).__name__
        bus.emit(
            STEP_END,
            self.description,
            self.sandbox,
            self.container,
            step=self.id,
            duration=duration,
            error=str(exc) or type(exc).__name__,
            status=status,
            level="error",
        )


def rpc_text(name: str, **fields: Any) -> str:
    """`RPC StartContainer{container_id="c1"}`: strings quoted, numbers bare, in call order."""
    parts = []
    for key, value in fields.items():
        if isinstance(value, str):
            parts.append(f"{key}={go_quote(value)}")
        else:
            parts.append(f"{key}={value}")
    return f"RPC {name}{{{', '.join(parts)}}}"
