"""One finding in full: the text Kata logs for it, the fix, and what was read (evidence).

Kata's text and the fix come first, where a short pane still shows them; the evidence is the exact files,
pids, mount ids and loop devices the rule read, so an operator can check each claim with
`cat`, `ps`, `findmnt` or `losetup` before acting. The pane takes focus (Tab) to scroll.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from kata_console.engine.doctor import Finding
from widgets.findings_table import SEVERITY_STYLE, where


def detail_text(f: Finding | None, empty: str = "", footnote: str = "") -> Text:
    """The detail of `f` as rich text (`empty` when there is none); `footnote` (what the
    rules could not check) ends it, dimmed."""
    if f is None:
        return Text(empty, style="dim")
    out = Text()
    out.append(f.severity.upper(), style=SEVERITY_STYLE.get(f.severity, ""))
    out.append(f"  {f.id}  ", style="bold")
    out.append(where(f), style="dim")
    out.append(f"\n{f.title}")
    if f.kata_error:
        out.append("\nkata: ", style="bold magenta")
        out.append(f.kata_error)
    if f.fix:
        out.append("\nfix:  ", style="bold green")
        out.append(f.fix)
    for line in f.evidence:
        out.append("\nread: ", style="dim")
        out.append(line)
    if footnote:
        out.append(f"\n{footnote}", style="dim")
    return out


class FindingDetail(VerticalScroll):
    """The selected finding (`show`), wrapped to the pane's width; scrolls when focused
    (arrows, page keys, Home/End)."""

    DEFAULT_CSS = """
    FindingDetail {
        height: auto;
        & > Static { height: auto; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[Finding | None, str, str] | None = None

    def compose(self) -> ComposeResult:
        yield Static()

    def show(self, finding: Finding | None, empty: str = "", footnote: str = "") -> None:
        """Show `finding`; the same one again (a refresh) keeps where the pane was scrolled."""
        shown = (finding, empty, footnote)
        if shown == self._shown:
            return
        self._shown = shown
        self.query_one(Static).update(detail_text(finding, empty, footnote))
        self.scroll_home(animate=False)

    @property
    def text(self) -> str:
        """What the pane shows, as plain text."""
        return str(self.query_one(Static).render())
