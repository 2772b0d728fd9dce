"""doctor's findings as a view (`F`, `:findings`): what is wrong on this node, worst first.

The table lists every finding; the pane under it shows the one under the cursor whole (the
files, pids, mounts and loops read, Kata's own text, the fix). Enter goes to what the
finding concerns: its container, its sandbox, or the host's chains for a loop or mount no
sandbox owns. The findings are doctor's rules run on what the console shows (the demo's:
on its engine's sandboxes and chains, with the recorded processes beside them). What the
rules could not check is named, and a source whose rules did not run at all (no Kata
state on the host) or that inspects no host (plans) says so instead of claiming a clean
node.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable

from kata_console.engine.doctor import Finding, severity_counts
from kata_console.screens.base import ConsoleScreen
from kata_console.sources.model import SandboxView, findings_scope
from widgets.finding_detail import FindingDetail
from widgets.findings_table import FindingsTable

#: what the view says for a source that inspects nothing (a plan)
NO_HOST = "this source inspects no host: doctor's rules have nothing to check"


def source_findings(source: object) -> list[Finding] | None:
    """The source's findings; None when it checks none (nothing inspected)."""
    found = getattr(source, "findings", None)
    return None if found is None else list(found)


def counts_text(findings: list[Finding]) -> str:
    counts = severity_counts(findings)
    parts = [f"{n} {sev}" for sev, n in counts.items() if n]
    return ", ".join(parts) if parts else "none"


class FindingsScreen(ConsoleScreen):
    """Every finding of the source's last inspection; Enter jumps to its resource."""

    crumbs = ("findings",)

    def compose_body(self) -> ComposeResult:
        yield FindingsTable(id="findings")
        yield FindingDetail(id="finding-detail")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(FindingDetail).border_title = "finding"
        self.query_one(FindingsTable).focus()

    def show_sandboxes(self, sandboxes: list[SandboxView]) -> None:
        table = self.query_one(FindingsTable)
        detail = self.query_one(FindingDetail)
        found = source_findings(self.kc.source)
        scope = findings_scope(self.kc.source)
        gap = str(getattr(self.kc.source, "findings_gap", ""))
        if found is None or scope == "not run":
            table.border_title = "findings (not run)" if found is not None else "findings"
            table.show([])
            detail.show(None, gap or NO_HOST)
            return
        counts = counts_text(found)
        table.border_title = f"findings ({counts}{', partial' if scope else ''})"
        table.show(found)
        self._detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_go()

    def _detail(self) -> None:
        table = self.query_one(FindingsTable)
        empty = "no findings: every rule found this node as Kata expects it"
        footnote = ""
        if findings_scope(self.kc.source) == "partial":
            footnote = f"not checked: {getattr(self.kc.source, 'findings_gap', '')}"
            empty = f"no findings from the rules that could check. {footnote}"
        self.query_one(FindingDetail).show(table.selected, empty, footnote)

    def action_go(self) -> None:
        """To the container, the sandbox, or the chains view for what no sandbox owns."""
        f = self.query_one(FindingsTable).selected
        if f is None:
            return
        sb = self.kc.sandbox(f.sandbox) if f.sandbox else None
        if sb is not None and f.container and sb.container(f.container) is not None:
            self.kc.open_container(sb.id, f.container)
        elif sb is not None:
            self.kc.open_sandbox(sb.id)
        elif f.sandbox:  # no sandbox of that id is listed (a shim without a state dir)
            self.status(f"sandbox {f.sandbox} is not in the sandbox list: {f.title}", "warning")
        else:
            self.kc.jump_to("chains")
