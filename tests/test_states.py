"""The transition table of reference §1.2, exhaustively, and its error texts."""

from __future__ import annotations

import itertools

import pytest

from kata_console.engine.lifecycle import states as S
from tests.enginekit import exact

# Written out by hand from the reference table, not derived from the implementation.
ALLOWED = {
    ("ready", "running"),
    ("ready", "stopped"),
    ("running", "paused"),
    ("running", "stopped"),
    ("paused", "running"),
    ("paused", "stopped"),
    ("stopped", "running"),
}
STATES = ["", "ready", "running", "paused", "stopped", "creating"]


@pytest.mark.parametrize(("old", "new"), list(itertools.product(STATES, STATES)))
def test_every_move_of_the_table(old: str, new: str) -> None:
    if (old, new) in ALLOWED:
        S.valid_transition(old, old, new)
        return
    with pytest.raises(S.StateError) as info:
        S.valid_transition(old, old, new)
    shown = old if old else '""'
    assert str(info.value) == f"Can not move from {shown} to {new}"


@pytest.mark.parametrize(
    ("current", "old"), [("ready", "running"), ("", "ready"), ("paused", "stopped")]
)
def test_receiver_must_be_in_the_expected_state(current: str, old: str) -> None:
    with pytest.raises(S.StateError) as info:
        S.valid_transition(current, old, "stopped")
    shown = current if current else '""'
    assert str(info.value) == f"Invalid state {shown} (Expecting {old})"


def test_exactly_seven_moves_are_allowed() -> None:
    allowed = set()
    for old, new in itertools.product(STATES, STATES):
        try:
            S.valid_transition(old, old, new)
        except S.StateError:
            continue
        allowed.add((old, new))
    assert allowed == ALLOWED


def test_valid_states_and_the_empty_state() -> None:
    assert {"ready", "running", "paused", "stopped"} == S.VALID_STATES
    assert "creating" not in S.VALID_STATES
    with pytest.raises(S.StateError, match=exact("State cannot be empty")):
        S.check_settable("")
    S.check_settable("ready")


def test_containerd_task_status_mapping() -> None:
    assert [
        S.task_status(s) for s in ("ready", "running", "paused", "stopped", "", "creating")
    ] == ["CREATED", "RUNNING", "PAUSED", "STOPPED", "UNKNOWN", "UNKNOWN"]
