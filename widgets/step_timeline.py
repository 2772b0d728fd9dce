"""The timeline of finished engine steps: what ran, for which op, how long, and how it
ended. Error rows are red and carry the engine's error text on a second line; steps that
ran after a failed step of the same op (Kata's rollback) are marked with `↳`. A step whose
peer answered (a QMP command to QEMU) shows the reply on a second line, `⇐ {...}`.

Append-only: steps never change once finished, so an update adds only the new rows. The
cursor follows the newest row unless the user moved it up to read an older one.

The step column gets the width the others leave: a line longer than that ends in `…`
(the log pane and, for a failed op, the preview have it whole) instead of running out of
sight behind a horizontal scrollbar; a resize lays the rows out again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widgets import DataTable

from widgets.resource_table import cell_width, cut_lines

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
    # the step an abort left at the gate ("not run", as the plan source says) is no success
    style = "bold red" if error else "yellow" if row.status == "not run" else "green"
    result = Text(row.status or "-", style=style)
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
        self._steps: list[StepRow] = []
        #: each column's widest cell (or label) over the steps so far, measured once each
        self._widest = [cell_len(label) for _, label in COLUMNS]
        #: the step column's width the rows were laid out for (0: not laid out yet)
        self._text_width = 0

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
        self._steps.extend(new)
        for row in new:
            cells = step_cells(row, self.show_durations)
            self._widest = [max(w, cell_width(c)) for w, c in zip(self._widest, cells, strict=True)]
        follow = self.row_count == 0 or self.cursor_row >= self.row_count - 1
        if self._width_for() != self._text_width:
            self._lay_out()
        else:
            with self.app.batch_update():
                for row in new:
                    self._add(row)
        self._shown = len(steps)
        if follow:  # after the layout has taken the new rows in, or the scroll falls short
            self.call_after_refresh(self.action_follow)
        return len(new)

    def on_resize(self, event: events.Resize) -> None:
        if self._steps and self._width_for() != self._text_width:
            self._lay_out()

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        """A scrollbar takes two cells from the step column."""
        self.on_resize(events.Resize(self.size, self.virtual_size))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_cursor":
            return False  # a finished step opens nothing (Enter on an op does)
        return super().check_action(action, parameters)

    def action_follow(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1, animate=False)

    # ------------------------------------------------------------------ helpers

    def _add(self, row: StepRow) -> None:
        cells = step_cells(row, self.show_durations)
        if self._text_width:
            cells = (*cells[:-1], cut_lines(cells[-1], self._text_width))
        tall = row.error is not None or row.result is not None
        self.add_row(*cells, key=str(row.step), height=2 if tall else 1)

    def _lay_out(self) -> None:
        """Add every row again for the step column's new width (the cursor stays)."""
        at = self.cursor_row
        self._text_width = self._width_for()
        with self.app.batch_update():
            self.clear(columns=True)  # the columns are measured again from the rows
            for key, label in COLUMNS:
                self.add_column(label, key=key)
            for row in self._steps:
                self._add(row)
            if self.row_count:
                self.move_cursor(row=min(at, self.row_count - 1), animate=False)
        self.call_after_refresh(self._redraw)

    def _redraw(self) -> None:
        """The header was drawn before the columns were measured from the new rows."""
        self._clear_caches()
        self.refresh()

    def _width_for(self) -> int:
        """Cells the step column has (0: whole, as long as the widest step)."""
        room = self.scrollable_content_region.width
        if room <= 0:
            return 0
        pad = 2 * self.cell_padding
        free = room - sum(w + pad for w in self._widest[:-1]) - pad
        return 0 if self._widest[-1] <= free else max(free, 8)
