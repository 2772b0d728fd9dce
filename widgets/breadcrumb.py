"""The k9s-style location line: `sandboxes > sb-web > web`, plus source markers.

Shows where the user is (so Esc is predictable) and, on the right, what the data is:
a DEMO marker for demonstration sources (with what runs the VMs and the guests, so a
simulated part is never taken for a real one) and READ-ONLY when actions are refused. When
the line is too narrow the source name goes first, then the marker's long form.
"""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget


class Breadcrumb(Widget):
    """Path of the current view on the left, source and safety markers on the right."""

    DEFAULT_CSS = """
    Breadcrumb {
        height: 1;
        width: 1fr;
        background: $panel;
        color: $text;
    }
    """

    path: reactive[tuple[str, ...]] = reactive(tuple)
    """The view path, outermost first."""
    source: reactive[str] = reactive("")
    """Name of the data source (demo, host, plan:FILE)."""
    demo: reactive[bool] = reactive(False)
    """Show the DEMO marker."""
    read_only: reactive[bool] = reactive(False)
    """Show the READ-ONLY marker."""
    marker: reactive[tuple[str, str]] = reactive(("", ""))
    """What runs the VMs and guests, long and short form ("" for none)."""

    def render(self) -> Content:
        left: list[str | tuple[str, str]] = [(" kata-console ", "bold")]
        for i, part in enumerate(self.path):
            left.append((" \u203a " if i else " ", "dim"))
            left.append((part, "bold $accent" if i == len(self.path) - 1 else ""))
        head = Content.assemble(*left)
        long, short = self.marker
        tails = [self._tail(long, True), self._tail(long, False), self._tail(short, False)]
        room = self.size.width - head.cell_length - 1
        tail = next((t for t in tails if t.cell_length <= room), tails[-1])
        pad = max(1, self.size.width - head.cell_length - tail.cell_length)
        return Content.assemble(head, " " * pad, tail)

    def _tail(self, marker: str, with_source: bool) -> Content:
        right: list[str | tuple[str, str]] = []
        if self.read_only:
            right += [(" READ-ONLY ", "bold $text on $warning"), " "]
        if self.demo:
            right += [(" DEMO ", "bold $text on $secondary"), " "]
        if marker:
            right += [(marker, "$text-muted"), " "]
        if self.source and with_source:
            right.append((f"source: {self.source} ", "$text-muted"))
        return Content.assemble(*right)
