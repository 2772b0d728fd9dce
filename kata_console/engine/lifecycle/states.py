"""Sandbox and container states and Kata's `ValidTransition` table (kata-engine.md §1.2).

One table serves both sandboxes and containers, as in Go (`types.StateString`). Go prints
the receiver with `%v` on a `*StateString`, i.e. a pointer address such as `0xc000123456`;
we print the state name instead (the empty initial state as `""`), since an address tells
an operator nothing. The rest of each text is Go's, byte for byte.
"""

from __future__ import annotations

from kata_console.engine.errors import EngineError

READY = "ready"
RUNNING = "running"
PAUSED = "paused"
STOPPED = "stopped"
#: declared by Go but never used and refused by `valid()`; kept so the table can say so
CREATING = "creating"
#: what a freshly constructed sandbox or container holds before `create`
EMPTY = ""

#: the states `StateString.valid()` accepts
VALID_STATES: frozenset[str] = frozenset({READY, RUNNING, PAUSED, STOPPED})

#: every state the table has a row for, in display order
ALL_STATES: tuple[str, ...] = (EMPTY, READY, RUNNING, PAUSED, STOPPED, CREATING)

#: allowed moves (from -> {to}); anything else is "Can not move from"
TRANSITIONS: dict[str, frozenset[str]] = {
    READY: frozenset({RUNNING, STOPPED}),
    RUNNING: frozenset({PAUSED, STOPPED}),
    PAUSED: frozenset({RUNNING, STOPPED}),
    STOPPED: frozenset({RUNNING}),
    EMPTY: frozenset(),
    CREATING: frozenset(),
}

#: containerd task status for each state (`getContainerStatus`); others give UNKNOWN
TASK_STATUS: dict[str, str] = {
    READY: "CREATED",
    RUNNING: "RUNNING",
    PAUSED: "PAUSED",
    STOPPED: "STOPPED",
}

ERR_NEED_STATE = "State cannot be empty"


class StateError(EngineError):
    """A refused state change; `str()` is Go's text with state names for addresses."""


def state_label(state: str) -> str:
    """How a state appears in an error text where Go printed a pointer (`""` when empty)."""
    return state if state else '""'


def valid_transition(current: str, old: str, new: str) -> None:
    """Go `StateString.validTransition`: raise `StateError` unless `current == old` and the
    table allows `old -> new`."""
    if current != old:
        raise StateError(f"Invalid state {state_label(current)} (Expecting {old})")
    if new in TRANSITIONS.get(current, frozenset()):
        return
    raise StateError(f"Can not move from {state_label(current)} to {new}")


def check_settable(state: str) -> None:
    """`setContainerState`/`setSandboxState` refuse the empty state (`ErrNeedState`)."""
    if state == EMPTY:
        raise StateError(ERR_NEED_STATE)


def task_status(state: str) -> str:
    """The containerd task status an operator sees in `ctr task ls` for this state."""
    return TASK_STATUS.get(state, "UNKNOWN")
