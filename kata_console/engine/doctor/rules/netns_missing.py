"""A live sandbox whose network namespace (persist.json's `Network.NetworkID`) is missing:
the VM's tap lived in it, so the pod has no network, and Kata's network teardown will fail
on stop.
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import LIVE_STATES, Context
from kata_console.engine.doctor.finding import ERROR, Finding
from kata_console.engine.doctor.rule import Rule

ID = "netns-missing"


def check(ctx: Context) -> Iterator[Finding]:
    for sb in ctx.report.sandboxes:
        net = sb.network
        if sb.state not in LIVE_STATES or net is None or not net.netns:
            continue
        if not (net.error or "").startswith("missing"):
            continue
        yield Finding(
            ID,
            ERROR,
            "the sandbox's network namespace is missing",
            sandbox=sb.id,
            evidence=[
                f"{sb.state_dir}/persist.json: Network.NetworkID {net.netns}",
                f"{net.netns}: {net.error}",
            ],
            fix="recreate the pod (its network is gone); find who removed the namespace "
            "(CNI DEL, `ip netns delete`)",
        )


RULE = Rule(ID, check)
