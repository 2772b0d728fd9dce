"""The timeline of finished engine steps: what ran, for which op, how long, and how it
ended. Error rows are red and carry the engine's error text on a second line; steps that
ran after a failed step of the same op (Kata's rollback) are marked with `↳`. A step whose
peer answered (a QMP command to QEMU) shows the reply on a second line, `⇐ {...}`.

Append-only: steps never change once finished, so an update adds only the new rows. The
cursor follows the newest row unless the user moved it up to read an older one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

if TYPE_CHECKING:
    from kata_console.sources.plan_source import StepRow

#: a reply longer than this is cut on its line (the log pane has it whole)
REPLY_WIDTH = 160
COLUMNS = (("step", "#"), ("op", "op"), ("ms", "ms"), ("result", "result"), ("text", "step"))


def format_duration(seconds: float | None, show: bool = True) -> str:
    """`12.3` (milliseconds); `-` when unknown or hidden."""
    if seconds is None or not show:
        return "-"
    return f"{seconds * 1000:.1f}"


def step_cells(row: StepRow, show_durations: bool = True) -> tuple[Text, ...]:
    """The cells of one finished step."""
    error = row.error is not None
    base = "red" if error else ""
    text = Text()
    if row.rollback:
        text.append("↳ ", style="bold yellow")
    text.append(row.text, style="bold red" if error else "")
    if error:
        text.append(f"\n  ✗ {row.error}", style="red")
    elif row.result is not None:
        reply = row.result if len(row.result) <= REPLY_WIDTH else row.result[:REPLY_WIDTH] + "…"
        text.append(f"\n  ⇐ {reply}", style="dim")
    result = Text(row.status or "-", style="bold red" if error else "green")
    return (
        Text(str(row.step), style=base or "dim"),
        Text("-" if row.op_index is None else str(row.op_index), style=base or "dim"),
        Text(format_duration(row.duration, show_durations), style=base, justify="right"),
        result,
        text,
    )


class StepTimeline(DataTable[Text]):
    """Finished steps, oldest first; `show(steps)` appends the ones not shown yet.

    | Key | Description |
    | :- | :- |
    | g / G, home / end | First / last step (G and end follow new steps again). |
    """

    BINDINGS = [
        Binding("g,home", "scroll_top", "Top", show=False, id="timeline.top"),
        Binding("G,end", "follow", "Newest", show=False, id="timeline.newest"),
    ]

    DEFAULT_CSS = """
    StepTimeline {
        height: 1fr;
        &:focus { background-tint: $foreground 3%; }
    }
    """

    def __init__(
        self,
        *,
        show_durations: bool = True,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Args:
        show_durations: False shows `-` for every duration (for clocks that are not frozen).
        """
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=False)
        self.show_durations = show_durations
        self._shown = 0

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    @property
    def shown(self) -> int:
        """How many steps are in the table."""
        return self._shown

    def show(self, steps: Sequence[StepRow]) -> int:
        """Append the steps beyond those already shown; returns how many were added."""
        new = steps[self._shown :]
        if not new:
            return 0
        follow = self.row_count == 0 or self.cursor_row >= self.row_count - 1
        with self.app.batch_update():
            for row in new:
                cells = step_cells(row, self.show_durations)
                tall = row.error is not None or row.result is not None
                self.add_row(*cells, key=str(row.step), height=2 if tall else 1)
        self._shown = len(steps)
        if follow:  # after the layout has taken the new rows in, or the scroll falls short
            self.call_after_refresh(self.action_follow)
        return len(new)

    def watch_show_horizontal_scrollbar(self, shown: bool) -> None:
        """A long step brings a horizontal scrollbar, which takes a row from the view: keep
        the newest step in sight if the cursor is on it."""
        if shown and self.row_count and self.cursor_row >= self.row_count - 1:
            self.call_after_refresh(self.action_follow)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_cursor":
            return False  # a finished step opens nothing (Enter on an op does)
        return super().check_action(action, parameters)

    def action_follow(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)
