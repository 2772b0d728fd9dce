"""A DataTable keyed by resource id that applies a new picture with minimal work.

A refresh of 2,000 rows must not rebuild the table (k9s and lazydocker users complain
about exactly that): rows are diffed by key and only changed cells are written, gone
rows are removed, new ones appended. `apply` returns how many rows it touched, which the
benchmark reports. `/` filters as you type (a regex, `!` inverts it: widgets/row_query),
`<` `>` pick the column to sort by and `I` inverts it (htop's keys; a click on a header
does the same); the sorted column's header carries the arrow, the border's subtitle the
filter and how many rows it keeps.

Column widths follow the content: DataTable only measures a cell when its row is added, so
an age that grows in place (`59m` -> `1h50m`) would be cut; after each change the columns
are measured again and resized (wider or narrower) to their widest cell.

No column is ever partly out of sight (a horizontal scrollbar hides that a row goes on):
when the widest cells do not fit the table's width, the `optional` columns are left out,
in their order, and the `elastic` ones (a path, an error text) are shortened to the room
left, never below their minimum. Filter and sort see the whole cells.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from widgets.filter_prompt import FilterPrompt
from widgets.row_query import RowFilter, compile_filter, ordered

Cell = str | Text
Row = tuple[Cell, ...]


def _plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def cell_width(cell: object) -> int:
    """Cells of the widest line of a cell, as DataTable lays it out."""
    text = cell.plain if isinstance(cell, Text) else str(cell)
    return max((cell_len(line) for line in text.split("\n")), default=0)


def cut_lines(cell: Cell, width: int) -> Text:
    """Each line of `cell` within `width` cells, ending in `…` where it was longer."""
    text = cell.copy() if isinstance(cell, Text) else Text(cell)
    lines = text.split("\n", allow_blank=True)
    for line in lines:
        line.truncate(width, overflow="ellipsis")
    return Text("\n").join(lines) if len(lines) > 1 else lines[0]


class ResourceTable(DataTable[Cell]):
    """Rows keyed by id; `apply(rows)` diffs; `filter` hides non-matching rows.

    | Key | Description |
    | :- | :- |
    | enter | Open the row under the cursor (posts `RowSelected`). |
    | g / G, home / end | First / last row. |
    | / | Filter as you type (the screen's `FilterPrompt`). |
    | > / < | Sort by the next / previous column (past the last: the source's order). |
    | I | Invert the sort. |
    """

    BINDINGS = [
        Binding("enter", "select_cursor", "Open", id="table.open"),
        Binding("g,home", "scroll_top", "Top", show=False, id="table.top"),
        Binding("G,end", "scroll_bottom", "Bottom", show=False, id="table.bottom"),
        Binding("slash", "filter", "Filter", id="table.filter", key_display="/"),
        Binding(
            "greater_than_sign", "sort(1)", "Sort", id="table.sort", show=False, key_display=">"
        ),
        Binding(
            "less_than_sign",
            "sort(-1)",
            "Sort back",
            id="table.sort_back",
            show=False,
            key_display="<",
        ),
        Binding("I", "invert_sort", "Invert sort", id="table.sort_invert", show=False),
    ]

    #: what the rows are, for the filter prompt and its status ("rows" unless told)
    noun = "rows"
    #: columns left out, in this order, while the widest cells do not fit the width
    optional: tuple[str, ...] = ()
    #: column -> the fewest cells it is shortened to when the widest cells do not fit
    elastic: Mapping[str, int] = {}

    DEFAULT_CSS = """
    ResourceTable {
        height: 1fr;
        &:focus { background-tint: $foreground 3%; }
    }
    """

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Args:
        columns: (key, label) pairs, in display order.
        """
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._columns = tuple(columns)
        self._all: dict[str, Row] = {}
        self._filter: RowFilter = compile_filter("")
        self._sort: str | None = None
        self._reverse = False
        #: the columns on screen (the others left out for want of width), and the width
        #: each elastic column is cut to
        self._shown_columns = tuple(key for key, _ in self._columns)
        self._cut: dict[str, int] = {}
        self._laying_out = False
        self._had_rows = False
        #: rows touched by the last `apply` (added, removed or with a changed cell)
        self.touched = 0

    def on_mount(self) -> None:
        for key, label in self._columns:
            self.add_column(label, key=key)

    # ------------------------------------------------------------------ public API

    @property
    def filter(self) -> str:
        """The active filter term ("" = none)."""
        return self._filter.term

    @property
    def total(self) -> int:
        """Rows the table holds, shown or filtered out."""
        return len(self._all)

    @property
    def sort_column(self) -> str | None:
        """Key of the column the rows are sorted by (None: the source's order)."""
        return self._sort

    @property
    def sort_reverse(self) -> bool:
        """The sort is descending."""
        return self._reverse

    @property
    def shown_columns(self) -> tuple[str, ...]:
        """Keys of the columns on screen, in display order."""
        return self._shown_columns

    def cell(self, row: str, column: str) -> Cell:
        """The whole cell (as given to `apply`, before any shortening), shown or not."""
        return self._all[row][[key for key, _ in self._columns].index(column)]

    @property
    def selected_key(self) -> str | None:
        """Key of the row under the cursor, if any."""
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return str(key) if key is not None else None

    def set_filter(self, term: str) -> int:
        """Show only rows with a cell matching `term` (a regex, `!` inverts); returns rows
        shown. A bad regex raises `FilterError` and the previous filter stays."""
        self._filter = compile_filter(term)
        self._sync()
        self._show_subtitle()
        return self.row_count

    def set_sort(self, column: str | None, reverse: bool = False) -> None:
        """Sort by this column (None: the source's order); the header shows the arrow."""
        keys = [key for key, _ in self._columns]
        if column is not None and column not in keys:
            raise ValueError(f"no column {column!r}")
        self._sort, self._reverse = column, reverse and column is not None
        self._show_labels()
        self._sync()

    def apply(self, rows: Mapping[str, Row]) -> int:
        """Make the table show `rows` (in this order); returns the number of rows touched."""
        self._all = dict(rows)
        return self._sync()

    def select(self, key: str) -> bool:
        """Move the cursor to the row with this key; False if it is not shown."""
        if key not in self.rows:
            return False
        self.move_cursor(row=self.get_row_index(key))
        return True

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_cursor" and not self.row_count:
            return False  # no row to open: Enter is not offered
        return super().check_action(action, parameters)

    def action_filter(self) -> None:
        # opened at once, not through the message queue: keys typed right after `/`
        # are already queued behind it and belong to the prompt
        prompts = self.screen.query(FilterPrompt)
        if prompts:
            prompts.first().open_for(self)
        else:
            self.post_message(FilterPrompt.Requested(self))

    def action_sort(self, step: int) -> None:
        """Next (+1) / previous (-1) column on screen; one step past either end is no sort."""
        keys: list[str | None] = [None, *self._shown_columns]
        at = keys.index(self._sort) if self._sort in keys else 0
        self.set_sort(keys[(at + step) % len(keys)], self._reverse)

    def action_invert_sort(self) -> None:
        if self._sort is None:  # nothing sorted yet: invert the first column
            self.set_sort(self._columns[0][0], True)
        else:
            self.set_sort(self._sort, not self._reverse)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a header sorts by it; a second click inverts."""
        event.stop()
        column = str(event.column_key.value)
        self.set_sort(column, not self._reverse if column == self._sort else False)

    def on_resize(self, event: events.Resize) -> None:
        self._lay_out_again()

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        """A scrollbar takes two cells from the columns."""
        self._lay_out_again()

    def shorten(self, column: str, cell: Cell, width: int) -> Cell:
        """`cell` of an elastic column cut to `width` cells; its head is kept."""
        return cut_lines(cell, width)

    def share(self, free: int, wants: dict[str, tuple[int, int]]) -> dict[str, int]:
        """Widths of the elastic columns that do not fit whole, given `free` cells for
        them all; `wants`: column -> (minimum, widest cell), in display order. Each gets
        its minimum, the rest goes to them in proportion to how much more they want."""
        widths = {key: low for key, (low, _) in wants.items()}
        more = {key: high - low for key, (low, high) in wants.items()}
        spare, total = max(0, free - sum(widths.values())), sum(more.values())
        for key in widths:
            widths[key] += spare * more[key] // total if total else 0
        return widths

    # ------------------------------------------------------------------ helpers

    def _lay_out_again(self) -> None:
        if (self.optional or self.elastic) and self._all and not self._laying_out:
            self._laying_out = True
            try:
                self._sync()
            finally:
                self._laying_out = False

    def _measure(self, rows: Mapping[str, Row]) -> dict[str, int]:
        """Column -> its widest cell in `rows`, measured once per sync: the layout and the
        column widths both read it (at 500 rows, reading every cell back out of the table
        again cost more than the diff itself)."""
        return {
            key: max((cell_width(row[i]) for row in rows.values()), default=0)
            for i, (key, _) in enumerate(self._columns)
        }

    def _layout(self, cells: dict[str, int]) -> tuple[tuple[str, ...], dict[str, int]]:
        """(columns to show, elastic column -> width to cut to) in this width, for rows
        whose widest cells are `cells`."""
        keys = [key for key, _ in self._columns]
        room = self.scrollable_content_region.width
        if not (self.optional or self.elastic) or room <= 0:
            return tuple(keys), {}
        widest = {  # the sorted column's header gains " ▲"
            key: max(cell_len(label) + 2 * (key == self._sort), cells[key])
            for key, label in self._columns
        }
        pad = 2 * self.cell_padding

        def need(shown: list[str]) -> int:
            return sum(min(widest[k], self.elastic.get(k, widest[k])) + pad for k in shown)

        shown = list(keys)
        for key in self.optional:
            if need(shown) <= room:
                break
            shown.remove(key)
        stretch = [k for k in shown if k in self.elastic]
        free = room - sum(widest[k] + pad for k in shown if k not in self.elastic)
        free -= pad * len(stretch)
        if sum(widest[k] for k in stretch) <= free:
            return tuple(shown), {}
        lows = {k: min(self.elastic[k], widest[k]) for k in stretch}
        if sum(lows.values()) > free:  # nothing left to leave out: below their minimum
            lows = {k: max(1, low * max(free, 0) // sum(lows.values())) for k, low in lows.items()}
        return tuple(shown), self.share(free, {k: (lows[k], widest[k]) for k in stretch})

    def _cells(self, row: Row, shown: tuple[str, ...], cut: dict[str, int]) -> Row:
        if len(shown) == len(self._columns) and not cut:
            return row
        at = {key: i for i, (key, _) in enumerate(self._columns)}
        cells = []
        for key in shown:
            cell = row[at[key]]
            if key in cut and cell_width(cell) > cut[key]:
                cell = self.shorten(key, cell, cut[key])
            cells.append(cell)
        return tuple(cells)

    def _show_columns(self, shown: tuple[str, ...]) -> None:
        """Put these columns on screen (DataTable only appends columns: rebuilt)."""
        self._shown_columns = shown
        labels = dict(self._columns)
        self.clear(columns=True)
        for key in shown:
            self.add_column(labels[key], key=key)
        self._show_labels()

    def _visible(self) -> dict[str, Row]:
        rows = self._all
        if self._filter.pattern is not None:
            match = self._filter.matches
            rows = {k: r for k, r in rows.items() if match([k, *(_plain(c) for c in r)])}
        if self._sort is None:
            return rows
        at = [key for key, _ in self._columns].index(self._sort)
        keys = ordered(list(rows), lambda k: _plain(rows[k][at]), self._reverse)
        return {k: rows[k] for k in keys}

    def _show_subtitle(self) -> None:
        term = self._filter.term
        self.border_subtitle = f"/{term}  {self.row_count} of {self.total}" if term else ""

    def _show_labels(self) -> None:
        """The sorted column's header carries ▲ (ascending) or ▼ (descending)."""
        arrow = "▼" if self._reverse else "▲"
        for key, label in self._columns:
            column = self.columns.get(key)  # type: ignore[call-overload]
            if column is None:
                continue
            text = Text(f"{label} {arrow}" if key == self._sort else label)
            column.label = text
            column.content_width = max(column.content_width, text.cell_len)
        self._require_update_dimensions = True  # the header may need a wider column
        self.refresh()

    def _sync(self) -> int:
        whole = self._visible()
        current = self.selected_key
        touched = 0
        measured = self._measure(whole)
        columns, self._cut = self._layout(measured)
        wanted = {key: self._cells(row, columns, self._cut) for key, row in whole.items()}
        with self.app.batch_update():
            if columns != self._shown_columns:
                self._show_columns(columns)
            keys = list(columns)
            shown = [str(r.value) for r in self.rows]
            gone = [k for k in shown if k not in wanted]
            kept = [k for k in wanted if k in self.rows]
            # rows can only be appended: rebuild when the kept rows moved or a new row
            # belongs before a kept one
            order_ok = [k for k in shown if k in wanted] == kept and list(wanted)[
                : len(kept)
            ] == kept
            if len(gone) > len(wanted) // 2 or not order_ok:
                touched = self.row_count + len(wanted)
                self.clear()
                for key, row in wanted.items():
                    self.add_row(*row, key=key)
            else:
                for key in gone:
                    self.remove_row(key)
                touched += len(gone)
                for key, row in wanted.items():
                    if key not in self.rows:
                        self.add_row(*row, key=key)
                        touched += 1
                        continue
                    old = self.get_row(key)
                    changed = False
                    for col, new, prev in zip(keys, row, old, strict=True):
                        if new != prev:
                            self.update_cell(key, col, new)
                            changed = True
                    touched += changed
        if current is not None and current in self.rows:
            self.move_cursor(row=self.get_row_index(current), animate=False)
        if touched:  # a cut column is measured again as shown (a path may keep less)
            at = {key: i for i, key in enumerate(keys)}
            shown_widths = {
                k: max((cell_width(row[at[k]]) for row in wanted.values()), default=0)
                if k in self._cut
                else measured[k]
                for k in keys
            }
            self._fit_columns(shown_widths)
        self.touched = touched
        if self.is_attached and bool(self.row_count) != self._had_rows:  # Enter: offered or not
            self._had_rows = bool(self.row_count)
            self.screen.refresh_bindings()
        if self._filter.term:
            self._show_subtitle()
        return touched

    def _fit_columns(self, widths: dict[str, int]) -> None:
        """Give every column the width of its widest cell (`widths`), grown or shrunk.
        Set here rather than through `update_cell(update_width=True)`, which measures
        the whole column again whenever a cell got narrower."""
        changed = False
        for key, width in widths.items():
            column = self.columns.get(ColumnKey(key))
            if column is None:
                continue
            target = max(width, cell_width(column.label))
            if target != column.content_width:
                column.content_width = target
                changed = True
        if changed:
            self._require_update_dimensions = True
            self.refresh()
