"""Agent health as measured from what the agent did, never inferred from a sandbox's state.

A sandbox in state `running` says nothing about its agent: the VM may have been stopped
and its agent with it, or the agent may have crashed a step ago. So the console's badge
follows evidence only, fed from the engine's own events:

- every agent RPC the engine runs is a step; its end says whether the agent answered
  (`OK`, or any refusal the agent itself returned: FAILED_PRECONDITION, NOT_FOUND, ...) or
  could not be reached (`UNAVAILABLE`: the connection is gone);
- the health monitor's failed ping is logged as Go logs it (`notify on errors: ...`);
- the VM stopped (the engine's `stop VM` step ended) or the console stopped the agent
  process with it: the agent is `stopped`, whatever the sandbox's state says later.

Evidence is recorded the moment its event is emitted (synchronously, on the engine's
loop), so a view reading `health()` on its next frame shows it: the step-through's badge
turns as soon as the RPC that found the agent gone has ended. No textual here.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

from kata_console.engine import errors as E
from kata_console.engine.lifecycle.events import LOG, STEP_BEGIN, STEP_END, Event
from kata_console.sources.model import AgentHealth, format_age

#: step-end statuses that mean the agent did not answer at all
UNREACHABLE = frozenset({"UNAVAILABLE"})
#: gRPC statuses a call can end with without the agent having answered it
_NOT_AN_ANSWER = frozenset({"DEADLINE_EXCEEDED", "CANCELLED", "UNKNOWN"})

#: how the health monitor's failure is logged (Go: `notify on errors: failed to ping ...`)
_NOTIFY = f"{E.NOTIFY_ON_ERRORS}: "

Measure = tuple[AgentHealth, str]

#: health intervals after which an agent's last answer no longer shows it alive
STALE_INTERVALS = 3


def aged(measured: Measure, at: _dt.datetime | None, now: _dt.datetime, interval: float) -> Measure:
    """An answer is evidence for a while: `ok` says how old it is, and an answer older
    than STALE_INTERVALS health intervals no longer shows the agent alive (`unknown`)."""
    if measured[0] != "ok" or at is None:
        return measured
    age = format_age(at, now)
    if (now - at).total_seconds() > STALE_INTERVALS * interval:
        return "unknown", f"no answer for {age}: the last was {measured[1]}"
    return "ok", f"{measured[1]} {age} ago"


class AgentHealthMeter:
    """Health per sandbox id, from engine events (`apply`) and the console's own acts
    (`stopped`, `dead`, a probe's `set`), each with when it was measured (`measured_at`,
    on `clock`). `version` moves on every change, so views can redraw on it."""

    def __init__(self, clock: Callable[[], _dt.datetime] | None = None) -> None:
        self._by_sandbox: dict[str, Measure] = {}
        self._at: dict[str, _dt.datetime] = {}
        self._clock = clock or (lambda: _dt.datetime.now(_dt.UTC))
        self.version = 0

    def health(self, sandbox_id: str) -> Measure:
        """(health, the evidence for it, one line)."""
        return self._by_sandbox.get(sandbox_id, ("unknown", "no agent RPC has answered yet"))

    def measured_at(self, sandbox_id: str) -> _dt.datetime | None:
        """When the evidence of `health` was taken (None: never)."""
        return self._at.get(sandbox_id)

    def set(self, sandbox_id: str, health: AgentHealth, why: str) -> bool:
        """Record a measurement; True when the health changed (the views should reload)."""
        old = self._by_sandbox.get(sandbox_id)
        self._by_sandbox[sandbox_id] = (health, why)
        self._at[sandbox_id] = self._clock()
        if old == (health, why):
            return False
        self.version += 1
        return old is None or old[0] != health

    def stopped(self, sandbox_id: str, why: str) -> bool:
        return self.set(sandbox_id, "stopped", why)

    def dead(self, sandbox_id: str, why: str) -> bool:
        return self.set(sandbox_id, "dead", why)

    def apply(self, e: Event) -> bool:
        """Fold one engine event in; True when a sandbox's health changed."""
        if e.kind == STEP_END and e.text.startswith("RPC "):
            name = e.text[4:].split("{", 1)[0]
            status = e.status or ""
            if status in UNREACHABLE:
                return self.dead(e.sandbox, f"RPC {name} failed: {e.error or status}")
            if status == "OK" or (status.isupper() and status not in _NOT_AN_ANSWER):
                answer = "answered" if status == "OK" else f"answered {status}"
                return self.set(e.sandbox, "ok", f"RPC {name} {answer}")
            return False
        if e.kind == STEP_BEGIN and e.text.startswith("start VM"):
            return self.set(e.sandbox, "unknown", "its VM is starting")
        if e.kind == STEP_END and e.text.startswith("stop VM") and e.status == "OK":
            return self.stopped(e.sandbox, "stopped with its VM")
        if e.kind == LOG and e.text.startswith(_NOTIFY):
            if self.health(e.sandbox)[0] == "stopped":
                return False  # a monitor tick that raced the VM's own stop: not news
            return self.dead(e.sandbox, e.text.removeprefix(_NOTIFY))
        return False


def outcome_note(op: str, health: AgentHealth, containers: int) -> str | None:
    """What "done" alone would hide after an operation the engine finished: the agent is
    known dead. Go's Sandbox.Start calls the agent only to start containers, so a start
    with none to start succeeds without reaching the guest at all."""
    if health != "dead":
        return None
    if op == "start_sandbox" and not containers:
        return "marked running with no container to start; its agent is unreachable (DEAD)"
    return "its agent is unreachable (DEAD)"
