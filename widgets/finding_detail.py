"""One finding in full: what was read (evidence), the text Kata logs for it, the fix.

The evidence is the exact files, pids, mount ids and loop devices the rule read, so an
operator can check each claim with `cat`, `ps`, `findmnt` or `losetup` before acting.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from kata_console.engine.doctor import Finding
from widgets.findings_table import SEVERITY_STYLE, where


def detail_text(f: Finding | None, empty: str = "") -> Text:
    """The detail of `f` as rich text (`empty` when there is none)."""
    if f is None:
        return Text(empty, style="dim")
    out = Text()
    out.append(f.severity.upper(), style=SEVERITY_STYLE.get(f.severity, ""))
    out.append(f"  {f.id}  ", style="bold")
    out.append(where(f), style="dim")
    out.append(f"\n{f.title}\n")
    for line in f.evidence:
        out.append("read: ", style="dim")
        out.append(f"{line}\n")
    if f.kata_error:
        out.append("kata: ", style="bold magenta")
        out.append(f"{f.kata_error}\n")
    if f.fix:
        out.append("fix:  ", style="bold green")
        out.append(f.fix)
    return out


class FindingDetail(Static):
    """The selected finding (`show`), wrapped to the pane's width."""

    DEFAULT_CSS = """
    FindingDetail {
        height: auto;
        max-height: 50%;
        padding: 0 1;
        overflow-y: auto;
    }
    """

    def show(self, finding: Finding | None, empty: str = "") -> None:
        self.update(detail_text(finding, empty))
