"""doctor's findings as a table: severity, rule, what it concerns, and the title.

Worst first, as `findings_for` orders them; a row's key is its position, so the screen can
give the finding behind the cursor to the detail pane and to Enter.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding

from kata_console.engine.doctor import Finding
from widgets.resource_table import ResourceTable

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


class FindingsTable(ResourceTable):
    """The findings, one per row (`show`); the cursor's finding is `selected`. A title or
    place longer than the room left ends in `…` (the finding's pane has it whole)."""

    BINDINGS = [
        # DataTable's own Enter (a RowSelected the screen answers), shown in the footer
        Binding("enter", "select_cursor", "Go to", id="findings.go", key_display="⏎"),
    ]

    DEFAULT_CSS = """
    FindingsTable {
        height: 1fr;
    }
    """

    noun = "findings"
    elastic = {"title": 16, "where": 12}

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(COLUMNS, id=id, classes=classes)
        self.findings: list[Finding] = []

    @property
    def selected(self) -> Finding | None:
        """The finding under the cursor."""
        key = self.selected_key
        if key is None or not key.isdigit() or int(key) >= len(self.findings):
            return None
        return self.findings[int(key)]

    def show(self, findings: Sequence[Finding]) -> None:
        """Replace the rows, keeping the cursor on the same finding when it is still there."""
        if list(findings) == self.findings:
            return
        keep = self.selected
        self.findings = list(findings)
        rows: dict[str, tuple[str | Text, ...]] = {
            str(i): (
                Text(f.severity.upper(), style=SEVERITY_STYLE.get(f.severity, "")),
                Text(f.id),
                Text(where(f)),
                Text(f.title),
            )
            for i, f in enumerate(self.findings)
        }
        self.apply(rows)
        if keep is not None and keep in self.findings:
            self.select(str(self.findings.index(keep)))
