"""The first view: every sandbox with its state, hypervisor, agent health and age.

Rows are keyed by sandbox id and diffed on every reload, so a refresh touches only the
sandboxes that changed. `/` filters (screens/filtering), Enter drills into the sandbox.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import DataTable

from kata_console.screens.base import ConsoleScreen, op_bindings
from kata_console.sources.model import Operation, SandboxView, format_age
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

    BINDINGS = op_bindings("sandbox", ("start", "stop", "delete"))

    crumbs = ("sandboxes",)

    def compose_body(self) -> ComposeResult:
        table = ResourceTable(COLUMNS, id="sandboxes")
        table.noun = "sandboxes"
        yield table

    @property
    def table(self) -> ResourceTable:
        return self.query_one("#sandboxes", ResourceTable)

    def show_sandboxes(self, sandboxes: list[SandboxView]) -> None:
        now = self.kc.source.now()
        touched = self.table.apply({sb.id: sandbox_row(sb, now) for sb in sandboxes})
        self.table.border_title = f"sandboxes ({len(sandboxes)})"
        self.last_touched = touched
        empty = self.kc.empty_notice or "no sandboxes"
        line = self.query_one(StatusLine)
        if not sandboxes:
            line.show(empty, "info")
        elif line.message == empty:  # sandboxes arrived (the demo plays in the background)
            line.clear()

    def operation_for(self, op: str) -> Operation | None:
        key = self.table.selected_key
        return Operation(f"{op}_sandbox", key) if key else None

    # ------------------------------------------------------------------ actions

    def action_open(self) -> None:
        key = self.table.selected_key
        if key is not None:
            self.kc.open_sandbox(key)

    # ------------------------------------------------------------------ handlers

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.kc.open_sandbox(str(event.row_key.value))
