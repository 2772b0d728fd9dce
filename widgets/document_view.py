"""A read-only document (JSON or plain text), syntax-highlighted, with find.

The describe view's body: the text is rendered once by Rich's Syntax (line numbers, the
JSON lexer), find marks every match and `n` / `N` bring the next one to the middle of the
view. Matching is plain text, case-insensitive (a persist.json is searched for ids and
paths, where regex metacharacters are common).
"""

from __future__ import annotations

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.message import Message
from textual.widgets import Static

#: the Syntax theme: ANSI colours, so the terminal's and the app theme's palette apply
THEME = "ansi_dark"
MATCH_STYLE = "black on yellow"
CURRENT_STYLE = "bold black on bright_yellow"


class DocumentView(ScrollableContainer, can_focus=True):
    """Shows one document; `set_find(term)` marks matches, `next_match` walks them.

    | Key | Description |
    | :- | :- |
    | n / N | Next / previous match of the find term. |
    | home / end | Top / bottom of the document. |
    """

    BINDINGS = [
        Binding("n", "next_match", "Next", id="describe.next"),
        Binding("N", "previous_match", "Prev", id="describe.previous", show=False),
        Binding("home", "scroll_home", "Top", id="describe.top", show=False),
        Binding("end", "scroll_end", "Bottom", id="describe.bottom", show=False),
    ]

    DEFAULT_CSS = """
    DocumentView {
        height: 1fr;
        overflow: auto auto;
        background: $surface;
        border: round $primary 50%;
        border-title-color: $text;
        &:focus { border: round $primary; }
        & > #document-body { width: auto; height: auto; }
    }
    """

    class MatchMoved(Message):
        """Find marked its matches or `n` / `N` moved to another: the screen says which
        one is current, of how many (`current`, `matches`)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.text = ""
        self.language = "json"
        self.find = ""
        #: (line index, start, end) of every match, in reading order
        self.matches: list[tuple[int, int, int]] = []
        #: index into `matches` of the current one
        self.current: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="document-body")

    # ------------------------------------------------------------------ public API

    def show(self, text: str, language: str = "json") -> None:
        """Replace the document (the find term stays and is searched again)."""
        self.text, self.language = text, language
        self._index()
        self._paint()

    def set_find(self, term: str) -> int:
        """Mark `term` ("" clears) and go to its first match; returns how many there are."""
        self.find = term
        self._index()
        if self.matches:
            self.current = 0
            self._scroll_to_current()
        self._paint()
        self.post_message(self.MatchMoved())
        return len(self.matches)

    def action_next_match(self) -> None:
        self._step(1)

    def action_previous_match(self) -> None:
        self._step(-1)

    # ------------------------------------------------------------------ helpers

    def _step(self, by: int) -> None:
        if not self.matches:
            self.app.bell()
            return
        at = -1 if self.current is None and by > 0 else (self.current or 0)
        self.current = (at + by) % len(self.matches)
        self._paint()
        self._scroll_to_current()
        self.post_message(self.MatchMoved())

    def _index(self) -> None:
        self.matches, self.current = [], None
        term = self.find.lower()
        if not term:
            return
        for i, line in enumerate(self.text.splitlines()):
            low, pos = line.lower(), 0
            while (pos := low.find(term, pos)) >= 0:
                self.matches.append((i, pos, pos + len(term)))
                pos += len(term)

    def _paint(self) -> None:
        syntax = Syntax(
            self.text or " ",
            self.language,
            theme=THEME,
            line_numbers=True,
            word_wrap=False,
            background_color="default",
        )
        for n, (line, start, end) in enumerate(self.matches):
            style = CURRENT_STYLE if n == self.current else MATCH_STYLE
            syntax.stylize_range(style, (line + 1, start), (line + 1, end))
        self.query_one("#document-body", Static).update(syntax)

    def _scroll_to_current(self) -> None:
        if self.current is None:
            return
        line, start, end = self.matches[self.current]
        region = self.scrollable_content_region
        gutter = len(str(self.text.count("\n") + 1)) + 3  # Syntax's line-number column
        x = 0 if gutter + end < region.width else gutter + start - region.width // 3
        self.scroll_to(x=x, y=max(0, line - region.height // 2), animate=False, immediate=True)
