"""The k9s-style location line: `sandboxes > sb-web > web`, plus source markers.

Shows where the user is (so Esc is predictable) and, on the right, what the data is:
a DEMO marker for demonstration sources and READ-ONLY when actions are refused.
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

    def render(self) -> Content:
        left: list[str | tuple[str, str]] = [(" kata-console ", "bold")]
        for i, part in enumerate(self.path):
            left.append((" \u203a " if i else " ", "dim"))
            left.append((part, "bold $accent" if i == len(self.path) - 1 else ""))
        right: list[str | tuple[str, str]] = []
        if self.read_only:
            right += [(" READ-ONLY ", "bold $text on $warning"), " "]
        if self.demo:
            right += [(" DEMO ", "bold $text on $secondary"), " "]
        if self.source:
            right.append((f"source: {self.source} ", "$text-muted"))
        head, tail = Content.assemble(*left), Content.assemble(*right)
        pad = max(1, self.size.width - head.cell_length - tail.cell_length)
        return Content.assemble(head, " " * pad, tail)
