"""A torn or unreadable persist.json: Kata cannot restore the sandbox or container from it
(the shim's restart, `kata-runtime exec`, `containerd-shim-kata-v2 delete` all read it), so
the pod can be neither used nor cleaned up. The file and Go's own parse error are named,
as the state reader found them.
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import Context
from kata_console.engine.doctor.finding import ERROR, Finding
from kata_console.engine.doctor.rule import Rule
from kata_console.engine.inspect.statedir import PERSIST_FILE

ID = "persist-unreadable"


def check(ctx: Context) -> Iterator[Finding]:
    for sb in ctx.report.sandboxes:
        for err in sb.errors:
            path, sep, why = err.partition(f"/{PERSIST_FILE}: ")
            if not sep or not path.startswith(sb.state_dir):
                continue
            rel = path[len(sb.state_dir) :].strip("/")
            yield Finding(
                ID,
                ERROR,
                f"persist.json unreadable: {why}",
                sandbox=sb.id,
                container=rel or None,
                evidence=[f"{path}/{PERSIST_FILE}: {why}"],
                # Go's own texts (`json: cannot unmarshal ...`) are Kata's; a syntax error is
                # described by the reader in its own words, not Go's
                kata_error=why if why.startswith("json: ") else None,
                fix="the sandbox cannot be restored: stop the pod (crictl stopp / rmp -f); if "
                f"that fails, kill its processes and remove {sb.state_dir}",
            )


RULE = Rule(ID, check)
