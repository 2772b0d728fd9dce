"""The operations of a plan (create, start, stop, ...) with each one's result.

One row per op, keyed by its index, diffed on every update (a `ResourceTable`), so a plan
of any length costs one changed row per op that lands. The cursor follows the op being
run; Enter on a row posts `RowSelected` so the view can drill into its sandbox/container.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text

from widgets.resource_table import ResourceTable, Row

if TYPE_CHECKING:
    from kata_console.sources.plan_source import OpRow

COLUMNS = (
    ("index", "#"),
    ("op", "op"),
    ("target", "id"),
    ("result", "result"),
    ("error", "error"),
)

#: width of the result column (its longest label: the column never jumps as ops land)
RESULT_WIDTH = 9
#: op status -> (label, style)
RESULTS: dict[str, tuple[str, str]] = {
    "pending": ("·", "dim"),
    "running": ("▶ running", "bold yellow"),
    "ok": ("✓ ok", "green"),
    "failed": ("✗ FAILED", "bold red"),
    "aborted": ("■ aborted", "bold red"),
    "skipped": ("- skipped", "dim"),
}


def error_cell(error: str | None) -> Text:
    """An op's error as the engine wrote it, on one line (the table shortens it to its
    width; the status line, the preview, the timeline and the log have it whole)."""
    return Text(" ".join((error or "").split()), style="red")


def op_row(op: OpRow) -> Row:
    """The cells of one op (its result coloured; a failed op is red throughout)."""
    label, style = RESULTS.get(op.status, (op.status, ""))
    base = (
        "red" if op.status in ("failed", "aborted") else ("bold" if op.status == "running" else "")
    )
    dim = op.status in ("pending", "skipped")
    return (
        Text(str(op.index), style="dim"),
        Text(op.op, style=base or ("dim" if dim else "")),
        Text(op.target or "-", style=base or ("dim" if dim else "")),
        Text(label.ljust(RESULT_WIDTH), style=style),
        error_cell(op.error if op.status in ("failed", "aborted") else None),
    )


class OpList(ResourceTable):
    """A plan's ops, their results and the engine's error for each one that failed;
    `show(ops, current)` updates it in place.

    | Key | Description |
    | :- | :- |
    | enter | Open the op's container (or sandbox). |
    """

    noun = "ops"
    #: the error gets the room the other columns leave; left out when that is too little
    #: to read (at 80 columns the preview shows the failed op's error instead); a long id
    #: gives way before the result would go out of sight
    elastic = {"error": 12, "target": 8}
    optional = ("error",)

    DEFAULT_CSS = """
    OpList {
        height: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(COLUMNS, id=id, classes=classes)
        self.zebra_stripes = False

    def show(self, ops: Sequence[OpRow], current: int | None) -> int:
        """Show these ops; the cursor goes to `current` (if any). Returns rows touched."""
        touched = self.apply({str(op.index): op_row(op) for op in ops})
        if current is not None:
            self.select(str(current))
        return touched

    def target_of(self, key: str) -> str | None:
        """The id in the row with this key ("-" rows have none)."""
        if key not in self.rows:
            return None
        cell = self.cell(key, "target")
        text = cell.plain if isinstance(cell, Text) else str(cell)
        return None if text == "-" else text
