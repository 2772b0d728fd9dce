"""A sandbox's network namespace: each link with its kind and the kernel's eight counters,
and which link Kata's tc filters redirect its traffic to (the veth <-> tap pair)."""

from __future__ import annotations

from rich.text import Text

from kata_console.engine.inspect.facts import NetnsFacts
from widgets.resource_table import ResourceTable

COLUMNS = (
    ("name", "link"),
    ("kind", "kind"),
    ("rx", "rx B/pkts"),
    ("rx_bad", "rx err/drop"),
    ("tx", "tx B/pkts"),
    ("tx_bad", "tx err/drop"),
    ("redirect", "tc redirect"),
)


def link_rows(net: NetnsFacts) -> dict[str, tuple[str | Text, ...]]:
    redirect = {r.src: r.dst for r in net.redirects}
    rows: dict[str, tuple[str | Text, ...]] = {}
    for link in net.links:
        s = link.stats
        bad_rx = s.get("rx_errors", 0) + s.get("rx_dropped", 0)
        bad_tx = s.get("tx_errors", 0) + s.get("tx_dropped", 0)
        rows[link.name] = (
            link.name,
            link.kind or "-",
            f"{s.get('rx_bytes', 0)}/{s.get('rx_packets', 0)}",
            Text(
                f"{s.get('rx_errors', 0)}/{s.get('rx_dropped', 0)}", style="red" if bad_rx else ""
            ),
            f"{s.get('tx_bytes', 0)}/{s.get('tx_packets', 0)}",
            Text(
                f"{s.get('tx_errors', 0)}/{s.get('tx_dropped', 0)}", style="red" if bad_tx else ""
            ),
            f"-> {redirect[link.name]}" if link.name in redirect else "-",
        )
    return rows


class LinkTable(ResourceTable):
    """The links of one sandbox's namespace; `show(netns)` refreshes it in place."""

    noun = "links"
    #: the kind (veth, tun) is in the link's name on a Kata node; the counters and the
    #: redirect are what the table is read for
    optional = ("kind",)

    DEFAULT_CSS = """
    LinkTable {
        height: auto;
        max-height: 6;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(COLUMNS, id=id, classes=classes)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_cursor":
            return False  # a link has no view of its own: Enter is not offered
        return super().check_action(action, parameters)

    def show(self, net: NetnsFacts | None) -> int:
        return self.apply(link_rows(net) if net is not None else {})
