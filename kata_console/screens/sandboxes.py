"""The first view: every sandbox with its state, hypervisor, agent health and age.

Rows are keyed by sandbox id and diffed on every reload, so a refresh touches only the
sandboxes that changed. `/` filters, Enter drills into the sandbox.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable

from kata_console.screens.base import ConsoleScreen, op_bindings
from kata_console.sources.model import Operation, SandboxView, format_age
from widgets.prompt_bar import PromptBar
from widgets.resource_table import ResourceTable, Row
from widgets.state_badge import health_text, state_text
from widgets.status_line import StatusLine

COLUMNS = (
    ("id", "sandbox"),
    ("state", "state"),
    ("hypervisor", "hypervisor"),
    ("agent", "agent"),
    ("containers", "containers"),
    ("devices", "devices"),
    ("age", "age"),
)


def sandbox_row(sb: SandboxView, now: object) -> Row:
    """The row of one sandbox (its cells are compared on refresh)."""
    running = sum(1 for c in sb.containers if c.state == "running")
    return (
        sb.id,
        state_text(sb.state),
        sb.hypervisor,
        health_text(sb.agent_health),
        f"{running}/{len(sb.containers)}",
        str(len(sb.devices)),
        format_age(sb.created, now),  # type: ignore[arg-type]
    )


class SandboxesScreen(ConsoleScreen):
    """All sandboxes of the source."""

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="sandboxes.filter", key_display="/"),
        *op_bindings("sandbox", ("start", "stop", "delete")),
    ]

    crumbs = ("sandboxes",)
    #: the list was empty at the last picture
    _empty = False

    def compose_body(self) -> ComposeResult:
        yield ResourceTable(COLUMNS, id="sandboxes")
        yield PromptBar(id="filter-prompt", cursor_blink=self.kc.cursor_blink)

    @property
    def table(self) -> ResourceTable:
        return self.query_one("#sandboxes", ResourceTable)

    def show_sandboxes(self, sandboxes: list[SandboxView]) -> None:
        now = self.kc.source.now()
        touched = self.table.apply({sb.id: sandbox_row(sb, now) for sb in sandboxes})
        self.table.border_title = self._title(len(sandboxes))
        self.last_touched = touched
        empty = self.kc.empty_notice or "no sandboxes"
        line = self.query_one(StatusLine)
        # said once when the list becomes empty (a refresh must not put it back over a
        # newer message), cleared when sandboxes arrive (the demo plays in the background)
        if not sandboxes and not self._empty:
            line.show(empty, "info")
        elif sandboxes and line.message == empty:
            line.clear()
        self._empty = not sandboxes

    def operation_for(self, op: str) -> Operation | None:
        key = self.table.selected_key
        return Operation(f"{op}_sandbox", key) if key else None

    # ------------------------------------------------------------------ actions

    def action_open(self) -> None:
        key = self.table.selected_key
        if key is not None:
            self.kc.open_sandbox(key)

    def action_filter(self) -> None:
        self.query_one(PromptBar).ask(
            "filter", "filter sandboxes (empty: clear)", self.table.filter
        )

    def action_back(self) -> None:
        if self.table.filter:
            self._apply_filter("")
        else:
            super().action_back()

    # ------------------------------------------------------------------ handlers

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.kc.open_sandbox(str(event.row_key.value))

    def on_prompt_bar_answered(self, event: PromptBar.Answered) -> None:
        event.stop()
        self._apply_filter(event.value)
        self.table.focus()

    def on_prompt_bar_cancelled(self, event: PromptBar.Cancelled) -> None:
        event.stop()
        self.table.focus()

    def _apply_filter(self, term: str) -> None:
        shown = self.table.set_filter(term)
        self.table.border_title = self._title(len(self.kc.sandboxes))
        if term:
            self.status(
                f"filter /{term}: {shown} of {len(self.kc.sandboxes)} sandboxes (Esc clears)"
            )
        else:
            self.query_one("#status").clear()  # type: ignore[attr-defined]

    def _title(self, total: int) -> str:
        term = self.table.filter
        return f"sandboxes ({total})" + (f"  /{term}" if term else "")
