"""Runs plan operations against a sandbox and reports each one as a result row.

Every op runs even after a failed one: an operator replays a sequence to see where it
breaks, and the rows after a failure show what that failure left behind. Used by
`kata-console play` and by the console's plan source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kata_console.engine.lifecycle.container import ContainerConfig
from kata_console.engine.lifecycle.plan import Op
from kata_console.engine.lifecycle.sandbox import Sandbox
from kata_console.engine.lifecycle.sim import Faults
from kata_console.engine.ports import AgentError, HypervisorError


@dataclass(slots=True)
class OpResult:
    op: str
    id: str | None
    ok: bool
    error: str | None
    sandbox_state: str
    container_state: str | None
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "op": self.op,
            "id": self.id,
            "ok": self.ok,
            "error": self.error,
            "sandbox_state": self.sandbox_state,
            "container_state": self.container_state,
        }


def _faults_of(sandbox: Sandbox, target: str) -> Faults:
    obj = {"agent": sandbox.agent, "hypervisor": sandbox.hypervisor, "fs_share": sandbox.fs_share}[
        target
    ]
    faults = getattr(obj, "faults", None)
    if not isinstance(faults, Faults):
        raise ValueError(f"inject_fault: the {target} is not simulated; faults need the sim")
    return faults


def inject(sandbox: Sandbox, args: dict[str, Any]) -> None:
    """Arm a fault on a simulated port: fail (`error`) or stall (`delay`) the next calls."""
    faults = _faults_of(sandbox, args["target"])
    if args.get("delay"):
        faults.stall(args["method"], args["delay"], args["times"])
    if args.get("error") is not None:
        error: BaseException
        if args["target"] == "agent":
            error = AgentError(args["error"], args["code"])
        elif args["target"] == "hypervisor":
            error = HypervisorError(args["error"])
        else:
            error = OSError(args["error"])
        faults.fail(args["method"], error, args["times"])


async def _dispatch(sb: Sandbox, op: Op) -> Any:
    a, cid = op.args, op.id or ""
    match op.op:
        case "create_sandbox":
            return await sb.create()
        case "start_sandbox":
            return await sb.start()
        case "stop_sandbox":
            return await sb.stop(a["force"])
        case "delete_sandbox":
            return await sb.delete()
        case "create_container":
            config = ContainerConfig(cid, a["rootfs"], list(a["devices"]), dict(a["annotations"]))
            return await sb.create_container(config)
        case "start_container":
            return await sb.start_container(cid)
        case "stop_container":
            return await sb.stop_container(cid, a["force"])
        case "delete_container":
            return await sb.delete_container(cid)
        case "pause_container":
            return await sb.pause_container(cid)
        case "resume_container":
            return await sb.resume_container(cid)
        case "kill_container":
            return await sb.kill_container(cid, a["signal"], a["all"])
        case "exec_container":
            return await sb.enter_container(cid, a["process"])
        case "update_container":
            return await sb.update_container(cid, a["resources"])
        case "stats_container":
            return await sb.stats_container(cid)
        case "inject_fault":
            return inject(sb, a)
    raise ValueError(f"unknown op {op.op!r}")  # plan validation makes this unreachable


async def run_op(sandbox: Sandbox, op: Op) -> OpResult:
    """Run one op; any failure becomes the row's `error` (its text as the engine gives it)."""
    error: str | None = None
    value: Any = None
    try:
        value = await _dispatch(sandbox, op)
    except Exception as exc:  # the row reports it; a replay never stops on an error
        error = str(exc) or type(exc).__name__
    target = op.id if op.id is not None else (sandbox.id if op.op != "inject_fault" else None)
    c = sandbox.containers.get(op.id) if op.id else None
    return OpResult(
        op.op,
        target,
        error is None,
        error,
        sandbox.state,
        c.state if c is not None else None,
        value,
    )
