"""The first view: every sandbox with its state, hypervisor, agent health and age.

Rows are keyed by sandbox id and diffed on every reload, so a refresh touches only the
sandboxes that changed. `/` filters (screens/filtering), Enter drills into the sandbox.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import DataTable

from kata_console.exports import sandbox_dict
from kata_console.screens.base import op_bindings
from kata_console.screens.resource import ResourceScreen, host_report, sandbox_path
from kata_console.sources.model import Operation, SandboxView, format_age
from kata_console.sources.rawdocs import Target
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


class SandboxesScreen(ResourceScreen):
    """All sandboxes of the source."""

    BINDINGS = op_bindings("sandbox", ("start", "stop", "delete"))

    crumbs = ("sandboxes",)
    #: the list was empty at the last picture
    _empty = False

    def compose_body(self) -> ComposeResult:
        table = ResourceTable(COLUMNS, id="sandboxes")
        table.noun = "sandboxes"
        # at 80 columns a DEAD agent's badge needs the room of the counts (the sandbox's
        # own view has them); the age stays in sight
        table.optional = ("devices", "containers", "hypervisor")
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

    def describe_target(self) -> Target | None:
        key = self.table.selected_key
        return ("sandbox", key) if key else None

    def selected_path(self) -> tuple[str, str] | None:
        key = self.table.selected_key
        return sandbox_path(self.kc.sandbox(key)) if key else None

    def export_data(self) -> tuple[str, str, Any] | None:
        report = host_report(self.kc.source)
        if report is not None:
            return ("every sandbox (inspect --json)", "inspect", report.to_dict())
        data = {"sandboxes": [sandbox_dict(sb) for sb in self.kc.sandboxes]}
        return ("every sandbox", "sandboxes", data)

    # ------------------------------------------------------------------ actions

    def action_open(self) -> None:
        key = self.table.selected_key
        if key is not None:
            self.kc.open_sandbox(key)

    # ------------------------------------------------------------------ handlers

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.kc.open_sandbox(str(event.row_key.value))
