"""The shim runs but its management socket (`shim-monitor.sock`) does not answer:
`kata-runtime exec`, kata-monitor and metrics all go through it, and a shim that does not
serve it is usually hung.
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import Context, pids
from kata_console.engine.doctor.finding import ERROR, Finding
from kata_console.engine.doctor.rule import Rule
from kata_console.engine.inspect.facts import SHIM

ID = "shim-socket-unreachable"
#: the fixed paths Kata's clients (kata-runtime, kata-monitor) try, in this order
GO_SOCKET, RUST_SOCKET = "/run/vc/sbs/{}/shim-monitor.sock", "/run/kata/{}/shim-monitor.sock"


def kata_text(sandbox: str, socket: str, error: str) -> str | None:
    """What Kata's shim clients say (`shimclient.DoGet`): a socket missing on both paths is
    `ClientSocketAddress`'s error; a socket nobody listens on is Go's HTTP client error."""
    if "no socket at" in error:
        go, rust = GO_SOCKET.format(sandbox), RUST_SOCKET.format(sandbox)
        return (
            f"it fails to stat both {go} and {rust} with error "
            f"stat {rust}: no such file or directory"
        )
    if "connection refused" in error:
        return f'Get "http://shim/agent-url": dial unix {socket}: connect: connection refused'
    return None


#: what a recording says about a socket it never asked (not a failure of the shim)
NOT_RECORDED = "not in the recording"


def check(ctx: Context) -> Iterator[Finding]:
    for sb in ctx.report.sandboxes:
        shims = [p for p in ctx.processes(sb, SHIM) if not p.error]
        shim = sb.shim
        if not shims or shim is None or shim.reachable or shim.error == NOT_RECORDED:
            continue
        yield Finding(
            ID,
            ERROR,
            "the shim runs but its management socket does not answer",
            sandbox=sb.id,
            evidence=[f"{pids(shims)}", f"GET /agent-url on {shim.socket}: {shim.error}"],
            kata_error=kata_text(sb.id, shim.socket, shim.error or ""),
            fix=f"curl --unix-socket {shim.socket} http://shim/agent-url to confirm; a hung "
            f"shim: collect `kill -USR1 {shims[0].pid}` (Go stack dump to the journal), then "
            "recreate the pod",
        )


RULE = Rule(ID, check)
