"""Fault injection for the simulated agent: make one RPC fail, hang or kill the agent.

Operators use it to reproduce what a broken guest looks like from the runtime (a
CreateContainer that times out, an agent that dies mid-StartContainer) without a broken
guest; tests use it to drive the client's error paths through a real process boundary.

Syntax (CLI `--fault`, repeatable, and the Control/SetFaults RPC):
    RPC=error:CODE[:MSG]   answer with gRPC status CODE (e.g. NOT_FOUND) and MSG
    RPC=delay:MS           sleep MS milliseconds before handling
    RPC=crash              the agent process exits while handling RPC
RPC is a method name of grpc.AgentService or grpc.Health (`StartContainer`, `Check`).
A delay and an outcome (error or crash) can be combined on one RPC; a new fault of the
same kind replaces the old one. Faults persist until cleared.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass

#: gRPC status names an error fault may use (grpc.StatusCode minus OK), kept static so
#: that parsing a `--fault` does not need grpc imported.
STATUS_CODES = frozenset(
    {
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    }
)

CRASH_EXIT_CODE = 1
#: the longest delay a fault may ask for (the milliseconds of a uint32 timeout)
MAX_DELAY_MS = 2**32 - 1


class FaultSpecError(ValueError):
    """A fault specification that cannot be parsed; the text is one operator-facing line."""


class FaultError(Exception):
    """Raised by `FaultTable.apply` for an error fault; the server turns it into a status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Fault:
    rpc: str
    kind: str  # "error" | "delay" | "crash"
    code: str = ""
    message: str = ""
    delay_ms: int = 0

    def spec(self) -> str:
        """The fault in `--fault` syntax (round-trips through `parse_fault`)."""
        if self.kind == "delay":
            return f"{self.rpc}=delay:{self.delay_ms}"
        if self.kind == "crash":
            return f"{self.rpc}=crash"
        tail = f":{self.message}" if self.message else ""
        return f"{self.rpc}=error:{self.code}{tail}"


def _known_rpcs() -> frozenset[str]:
    from backends.agent.generated import agent_pb2, health_pb2

    names = {m.name for m in agent_pb2.DESCRIPTOR.services_by_name["AgentService"].methods}
    names |= {m.name for m in health_pb2.DESCRIPTOR.services_by_name["Health"].methods}
    return frozenset(names)


def parse_fault(spec: str, known: Iterable[str] | None = None) -> Fault:
    """Parse one `--fault` value; unknown RPC names are refused so typos do not pass silently."""
    rpc, sep, action = spec.partition("=")
    rpc = rpc.strip()
    if not sep or not rpc or not action:
        raise FaultSpecError(
            f"bad fault {spec!r}: expected RPC=error:CODE[:MSG], RPC=delay:MS or RPC=crash"
        )
    names = frozenset(known) if known is not None else _known_rpcs()
    if rpc not in names:
        raise FaultSpecError(f"bad fault {spec!r}: unknown RPC {rpc!r}")
    kind, _, rest = action.partition(":")
    if kind == "crash" and not rest:
        return Fault(rpc, "crash")
    if kind == "delay":
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses
        digits = rest.lstrip("0") or "0"
        if (
            not (rest.isascii() and rest.isdigit())
            or len(digits) > 10
            or int(digits) > MAX_DELAY_MS
        ):
            raise FaultSpecError(
                f"bad fault {spec!r}: delay needs milliseconds (0 to {MAX_DELAY_MS}), "
                f"e.g. {rpc}=delay:500"
            )
        return Fault(rpc, "delay", delay_ms=int(rest))
    if kind == "error":
        code, _, message = rest.partition(":")
        code = code.strip().upper()
        if code not in STATUS_CODES:
            raise FaultSpecError(f"bad fault {spec!r}: unknown gRPC status {code or '(none)'!r}")
        return Fault(rpc, "error", code=code, message=message)
    raise FaultSpecError(f"bad fault {spec!r}: action must be error:CODE[:MSG], delay:MS or crash")


def _crash(rpc: str) -> None:
    print(f"kata-console agent: crash fault while handling {rpc}", file=sys.stderr, flush=True)
    os._exit(CRASH_EXIT_CODE)


class FaultTable:
    """The active faults, by RPC: at most one delay and one outcome (error or crash) each."""

    def __init__(self, on_crash: Callable[[str], None] = _crash) -> None:
        self._delays: dict[str, Fault] = {}
        self._outcomes: dict[str, Fault] = {}
        self._on_crash = on_crash

    def add(self, fault: Fault) -> None:
        table = self._delays if fault.kind == "delay" else self._outcomes
        table[fault.rpc] = fault

    def add_specs(self, specs: Iterable[str]) -> None:
        """Parse all first, then add: a bad spec in a batch changes nothing."""
        for fault in [parse_fault(s) for s in specs]:
            self.add(fault)

    def clear(self, rpcs: Iterable[str] = ()) -> None:
        names = set(rpcs)
        if not names:
            self._delays.clear()
            self._outcomes.clear()
            return
        for name in names:
            self._delays.pop(name, None)
            self._outcomes.pop(name, None)

    def specs(self) -> list[str]:
        faults = [*self._delays.values(), *self._outcomes.values()]
        return sorted(f.spec() for f in faults)

    async def apply(self, rpc: str) -> None:
        """Run the faults for `rpc` before its handler: delay, then crash or error."""
        delay = self._delays.get(rpc)
        if delay is not None:
            await asyncio.sleep(delay.delay_ms / 1000)
        outcome = self._outcomes.get(rpc)
        if outcome is None:
            return
        if outcome.kind == "crash":
            self._on_crash(rpc)
            return
        raise FaultError(outcome.code, outcome.message or f"injected fault: {outcome.code}")
