"""Key/value facts of a sandbox, laid out for the room they get.

Beside a table (`strip` off) the keys form a column and each value takes the width left;
under a table (`strip` on, narrow terminals) the pairs flow one after another like words,
so a short fact costs no line of its own. Either way a value too long for its line breaks
after a path separator or at a space (`/run/vc/sbs/` + `sb-web`), never into slices of a
few characters: a fixed grid folded `running` one letter per line at 80 columns. An
identifier (a tap's name, a netns's uuid) moves whole to the next line when it fits
there, and is broken after its own `-` / `_` only when it is wider than the line.
"""

from __future__ import annotations

from itertools import zip_longest

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

#: a value may break after these (kept at the end of the line) or at a space (dropped)
BREAK_AFTER = "/-_.,:;=@"
#: a fact breaks between words and after these, which end an identifier...
FACT_BREAKS = "/,;="
#: ...and after these, which join the parts of one (`tap0_kata`, `cni-8a7b-...`), only
#: when the identifier is wider than the line
FACT_WITHIN = "-_.:@"
#: the keys' column takes at most this share of the width (longer keys wrap at spaces)
KEY_SHARE = 0.4
#: gap between two pairs of the strip
GAP = "   "


def _text(value: str | Text) -> Text:
    return value if isinstance(value, Text) else Text(str(value))


def line_spans(
    plain: str, width: int, breaks: str = BREAK_AFTER, within: str = ""
) -> list[tuple[int, int]]:
    """(start, end) of each line of `plain` cut to at most `width` cells, at the last break
    point that fits (after one of `breaks`, or a space that is dropped); a run with no
    break point is cut at the width.

    `within`: break points inside an identifier (`tap0_kata`, a uuid's `-`), used only
    when the identifier after the last break point is wider than a whole line: one that
    fits a line moves to the next whole, instead of leaving `tap0_` behind."""
    width = max(1, width)
    spans: list[tuple[int, int]] = []
    start = 0
    while cell_len(plain[start:]) > width:
        rest = plain[start:]
        cut = _last_break(rest, width, breaks)
        if within and (cut == 0 or cell_len(_word_after(rest, cut, breaks)) > width):
            cut = max(cut, _last_break(rest, width, within, spaces=False))
        if cut == 0:  # no break point: cut at the width (cells, for wide characters)
            cut = width
            while cut > 1 and cell_len(rest[:cut]) > width:
                cut -= 1
        spans.append((start, start + cut))
        start += cut
        while start < len(plain) and plain[start] == " ":
            start += 1
    spans.append((start, len(plain)))
    return spans


def _last_break(rest: str, width: int, breaks: str, spaces: bool = True) -> int:
    """The last place within `width` to cut `rest`: after one of `breaks` or before a
    space (`spaces`); 0 when there is none."""
    for i in range(min(len(rest), width), 0, -1):
        if rest[i - 1] in breaks or (spaces and i < len(rest) and rest[i] == " "):
            return i
    return 0


def _word_after(rest: str, cut: int, breaks: str) -> str:
    """What follows a cut up to the next break point: the identifier that would start
    the next line."""
    begin = cut
    while begin < len(rest) and rest[begin] == " ":
        begin += 1
    end = begin + 1
    while end < len(rest) and rest[end - 1] not in breaks and rest[end] != " ":
        end += 1
    return rest[begin:end]


def break_lines(text: Text, width: int) -> list[Text]:
    """`text` cut into lines of at most `width` cells (see `line_spans`): between words and
    after path separators, and inside an identifier only when it is wider than a line."""
    spans = line_spans(text.plain, width, FACT_BREAKS, FACT_WITHIN)
    return [text[start:end] for start, end in spans]


class Facts:
    """The rows of a facts panel, added the way rows of a Rich grid are."""

    def __init__(self) -> None:
        self.rows: list[tuple[Text, Text]] = []

    def add_row(self, key: str | Text, value: str | Text) -> None:
        key_text = _text(key).copy()
        if not key_text.style and not key_text.spans:
            key_text.stylize("bold")
        self.rows.append((key_text, _text(value)))


class FactsPanel(VerticalScroll):
    """Facts as a key column (beside a table) or a flowing strip of pairs (under one).

    More facts than rows (a tall agent error, a panel beside a short table) scroll: Tab
    then reaches the panel, and the arrow keys, PageUp/PageDown, End and the wheel move
    it. Facts that fit are no Tab stop.
    """

    DEFAULT_CSS = """
    FactsPanel {
        height: auto;
        padding: 0 1;
        & > _FactsBody { height: auto; }
    }
    """

    strip: reactive[bool] = reactive(False, layout=True)
    """Lay the pairs out one after another on lines instead of a key column."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._facts = Facts()

    def compose(self) -> ComposeResult:
        yield _FactsBody(self)

    # ------------------------------------------------------------------ public API

    def update(self, facts: Facts) -> None:
        """Show these facts."""
        self._facts = facts
        for body in self.query(_FactsBody):
            body.refresh(layout=True)

    def lines(self, width: int) -> list[Text]:
        """The panel's lines at this content width."""
        rows = self._facts.rows
        if not rows:
            return []
        return self._strip(rows, width) if self.strip else self._column(rows, width)

    # ------------------------------------------------------------------ textual hooks

    def allow_focus(self) -> bool:
        """A Tab stop only while there is something to scroll to."""
        return super().allow_focus() and self.max_scroll_y > 0

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """As wide as the facts need (with room for the scrollbar they may need), as the
        panel beside a table is `width: auto`."""
        width = self.content_width()
        if width is None:
            return container.width
        return width + self.styles.scrollbar_size_vertical

    def watch_strip(self) -> None:
        for body in self.query(_FactsBody):
            body.refresh(layout=True)

    # ------------------------------------------------------------------ helpers

    def content_width(self) -> int | None:
        """The width the key column and the longest value need (None: as wide as given)."""
        rows = self._facts.rows
        if self.strip or not rows:
            return None
        keys = max(cell_len(key.plain) for key, _ in rows)
        values = max(cell_len(value.plain) for _, value in rows)
        return keys + 1 + values

    def _column(self, rows: list[tuple[Text, Text]], width: int) -> list[Text]:
        key_width = min(max(cell_len(key.plain) for key, _ in rows), int(width * KEY_SHARE))
        key_width = max(1, key_width)
        value_width = max(1, width - key_width - 1)
        out: list[Text] = []
        for key, value in rows:
            keys = break_lines(key, key_width)
            values = break_lines(value, value_width)
            for k, v in zip_longest(keys, values, fillvalue=Text()):
                line = k.copy()
                line.pad_right(key_width - cell_len(k.plain) + 1)
                out.append(line + v)
        return out

    def _strip(self, rows: list[tuple[Text, Text]], width: int) -> list[Text]:
        out: list[Text] = []
        line = Text()
        for key, value in rows:
            pair = key + " " + value
            if not line.plain:
                pass
            elif cell_len(line.plain) + len(GAP) + cell_len(pair.plain) <= width:
                line.append(GAP)
            else:
                out.append(line)
                line = Text()
            if cell_len(pair.plain) <= width - cell_len(line.plain):
                line.append_text(pair)
                continue
            # a pair longer than a line: its value continues under itself, or under the
            # key when the key takes more than a third of the line
            key_cells = cell_len(key.plain)
            indent = key_cells + 1 if key_cells + 1 <= width // 3 else 2
            pieces = break_lines(value, width - indent)
            if indent > key_cells:
                line.append_text(key + " " * (indent - key_cells) + pieces.pop(0))
            else:
                line.append_text(key)
            for piece in pieces:
                out.append(line)
                line = Text(" " * indent) + piece
        if line.plain:
            out.append(line)
        return out


class _FactsBody(Widget):
    """The lines of a FactsPanel (a leaf, so the panel around it can scroll them)."""

    def __init__(self, panel: FactsPanel) -> None:
        super().__init__()
        self._panel = panel

    def render(self) -> Text:
        return Text("\n").join(self._panel.lines(self.size.width))

    def get_content_width(self, container: Size, viewport: Size) -> int:
        width = self._panel.content_width()
        return container.width if width is None else width

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._panel.lines(width))
