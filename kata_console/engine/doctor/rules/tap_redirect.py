"""A tap in a sandbox's namespace without Kata's tc redirect pair (tcfilter model: ingress
on the veth `mirred egress redirect` to the tap, and back): traffic does not flow between
the pod's interface and the VM.
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import LIVE_STATES, Context
from kata_console.engine.doctor.finding import ERROR, Finding
from kata_console.engine.doctor.rule import Rule
from kata_console.engine.inspect.facts import LinkFacts

ID = "tap-without-redirect"


def is_tap(link: LinkFacts) -> bool:
    return (link.kind == "tun" and link.tun_type in ("tap", "")) or link.kind == "tap"


def check(ctx: Context) -> Iterator[Finding]:
    for sb in ctx.report.sandboxes:
        net = sb.network
        if sb.state not in LIVE_STATES or net is None or net.error:
            continue
        for tap in (link for link in net.links if is_tap(link)):
            out = [r for r in net.redirects if r.src == tap.name]
            into = [r for r in net.redirects if r.dst == tap.name]
            missing = []
            if not into:
                missing.append(f"no redirect into {tap.name}")
            if not out:
                missing.append(f"no redirect from {tap.name}")
            if not missing:
                continue
            have = [f"tc ingress {r.src} -> {r.dst}" for r in net.redirects] or ["none"]
            yield Finding(
                ID,
                ERROR,
                f"tap {tap.name}: " + " and ".join(missing) + ": traffic will not flow",
                sandbox=sb.id,
                device=tap.name,
                evidence=[
                    f"{net.netns}: link {tap.index} {tap.name} ({tap.kind})",
                    "redirects read: " + ", ".join(have),
                ],
                fix=f"recreate the pod; to confirm: ip netns exec {net.netns} tc filter show "
                f"dev {tap.name} ingress",
            )


RULE = Rule(ID, check)
