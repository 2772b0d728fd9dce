"""doctor's findings as a table: severity, rule, what it concerns, and the title.

Worst first, as `findings_for` orders them; a row's key is its position, so the screen can
give the finding behind the cursor to the detail pane and to Enter.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from kata_console.engine.doctor import Finding

#: severity -> the style of its cell (the CLI's colours)
SEVERITY_STYLE = {"error": "bold red", "warning": "bold yellow", "info": "cyan"}
COLUMNS = (("severity", "severity"), ("rule", "rule"), ("where", "where"), ("title", "title"))


def where(f: Finding) -> str:
    """`sb-web/web`, `sb-web dev /dev/loop2`, `host /dev/loop3`: what the finding concerns."""
    place = f.sandbox or "host"
    if f.container:
        place += f"/{f.container}"
    if f.device:
        place += f" {f.device}"
    return place


class FindingsTable(DataTable[Text]):
    """The findings, one per row (`show`); the cursor's finding is `selected`."""

    BINDINGS = [
        # DataTable's own Enter (a RowSelected the screen answers), shown in the footer
        Binding("enter", "select_cursor", "Go to", id="findings.go", key_display="⏎"),
        Binding("g,home", "scroll_top", "Top", show=False, id="findings.top"),
        Binding("G,end", "scroll_bottom", "Bottom", show=False, id="findings.bottom"),
    ]

    DEFAULT_CSS = """
    FindingsTable {
        height: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.findings: list[Finding] = []

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    @property
    def selected(self) -> Finding | None:
        """The finding under the cursor."""
        if not self.findings or not 0 <= self.cursor_row < len(self.findings):
            return None
        return self.findings[self.cursor_row]

    def show(self, findings: Sequence[Finding]) -> None:
        """Replace the rows, keeping the cursor on the same finding when it is still there."""
        if list(findings) == self.findings:
            return
        keep = self.selected
        self.findings = list(findings)
        self.clear()
        for i, f in enumerate(self.findings):
            self.add_row(
                Text(f.severity.upper(), style=SEVERITY_STYLE.get(f.severity, "")),
                Text(f.id),
                Text(where(f)),
                Text(f.title),
                key=str(i),
            )
        if keep is not None and keep in self.findings:
            self.move_cursor(row=self.findings.index(keep), animate=False)
