"""Why an operation cannot apply to an engine sandbox as it is now, asked before the
confirmation so the console never previews RPCs that would only fail.

The texts are the engine's own (Go's precondition errors, `Can not move from ...`) where
the engine would refuse the same operation; a few reasons are the console's, for what the
engine does not check but an operator must know: a stopped sandbox's VM and agent are gone
(Kata starts no VM again: `start` would run every container against nothing), a container
that was never created has no process to pause or signal, a process that already exited
cannot be signalled again. Reads the engine's objects only; never changes them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kata_console.engine import errors as E
from kata_console.engine.gofmt import go_quote
from kata_console.engine.lifecycle import states as S

if TYPE_CHECKING:
    from kata_console.engine.lifecycle.sandbox import Sandbox
    from kata_console.sources.model import Operation

#: container operations that need the agent to answer
_AGENT_OPS = frozenset({"start_container", "pause_container", "resume_container", "kill_container"})


def _transition(state: str, new: str) -> str | None:
    try:
        S.valid_transition(state, state, new)
    except S.StateError as exc:
        return str(exc)
    return None


def sandbox_refusal(sb: Sandbox, op: str, vm_gone: bool) -> str | None:
    """Why a sandbox operation cannot apply (`vm_gone`: its VM and agent were stopped)."""
    state = sb.state
    if op == "start_sandbox":
        if state == S.STOPPED and vm_gone:
            return (
                "its VM and agent were stopped with it, and a stopped sandbox does not start "
                "again (Kata starts no VM for it): delete it and create a new one"
            )
        return _transition(state, S.RUNNING)
    if op == "stop_sandbox":
        if state == S.STOPPED:
            return "it is already stopped"
        return _transition(state, S.STOPPED)
    if op == "delete_sandbox" and state not in (S.READY, S.PAUSED, S.STOPPED):
        return E.SANDBOX_DELETE
    if op == "create_sandbox" and state != S.EMPTY:
        return E.SANDBOX_ALREADY_CREATED % (go_quote(sb.id), state)
    return None


def container_refusal(
    sb: Sandbox,
    op: Operation,
    *,
    never_created: str | None,
    exited: str | None,
    agent: tuple[str, str],
) -> str | None:
    """Why a container operation cannot apply.

    Args:
        never_created: the error of the container's failed create, if that is all it is.
        exited: how its process exited, when the console saw it exit (WaitProcess).
        agent: the sandbox's measured agent health and its evidence.
    """
    cid = op.container_id or ""
    verb = op.op.removesuffix("_container")
    c = sb.containers.get(cid)
    if op.op == "create_container":
        return f"container {cid} already exists ({S.state_label(c.state)})" if c else None
    if c is None:
        if never_created is not None:
            return f"container {cid} was never created (its create failed): nothing to {verb}"
        return f"container {cid} no longer exists"
    health, why = agent
    if op.op in _AGENT_OPS and health in ("dead", "stopped"):
        return f"the agent of {sb.id} is {health} ({why}): {verb} needs it to answer"
    if op.op == "start_container":
        if sb.state != S.RUNNING:
            return E.SANDBOX_NOT_RUNNING_VERB % "start"
        if c.state not in (S.READY, S.STOPPED):
            return E.START_STATE
    elif op.op == "stop_container":
        if c.state == S.STOPPED:
            return "it is already stopped"
        return _transition(c.state, S.STOPPED)
    elif op.op in ("pause_container", "resume_container"):
        if sb.state != S.RUNNING:
            return E.SANDBOX_NOT_RUNNING_VERB % verb
        if op.op == "pause_container" and c.state != S.RUNNING:
            return E.PAUSE_STATE
        if op.op == "resume_container" and c.state != S.PAUSED:
            return E.RESUME_STATE
    elif op.op == "kill_container":
        if sb.state not in (S.READY, S.RUNNING):
            return E.SIGNAL_SANDBOX_STATE
        if c.state not in (S.READY, S.RUNNING, S.PAUSED):
            return E.SIGNAL_STATE
        if exited is not None:
            return f"its process already exited ({exited}, as WaitProcess reported)"
    elif op.op == "delete_container" and c.state not in (S.READY, S.STOPPED):
        return E.DELETE_STATE
    return None
