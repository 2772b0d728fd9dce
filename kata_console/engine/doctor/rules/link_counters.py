"""Links whose error or drop counters grew between two reads of the sandbox's namespace
(inspect's, and doctor's second one a moment later): something is failing now, not
long ago.
"""

from __future__ import annotations

from collections.abc import Iterator

from kata_console.engine.doctor.context import Context
from kata_console.engine.doctor.finding import WARNING, Finding
from kata_console.engine.doctor.rule import Rule

ID = "link-errors-growing"
COUNTERS = ("rx_errors", "rx_dropped", "tx_errors", "tx_dropped")


def check(ctx: Context) -> Iterator[Finding]:
    for sb in ctx.report.sandboxes:
        net = sb.network
        if net is None or net.error or not net.netns:
            continue
        again = ctx.extras.netns_again.get(net.netns)
        if again is None or again.error:
            continue
        later = {link.index: link for link in again.links}
        for link in net.links:
            nxt = later.get(link.index)
            if nxt is None or nxt.name != link.name:
                continue
            grew = [
                f"{c} {link.stats[c]} -> {nxt.stats[c]}"
                for c in COUNTERS
                if c in link.stats and c in nxt.stats and nxt.stats[c] > link.stats[c]
            ]
            if grew:
                yield Finding(
                    ID,
                    WARNING,
                    f"{link.name}: error/drop counters growing",
                    sandbox=sb.id,
                    device=link.name,
                    evidence=[f"{net.netns}: link {link.index} {link.name}: " + ", ".join(grew)],
                    fix=f"ip netns exec {net.netns} ip -s link show {link.name}; check the "
                    "MTU of the veth and tap and the VM's virtio-net queue",
                )


RULE = Rule(ID, check, needs_extras=True)
