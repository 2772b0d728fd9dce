"""The `/` prompt of a table or tree: filters as you type, Enter keeps, Esc restores.

One per screen (the screen docks it at the bottom); `open_for(target)` points it at the
widget that asked. Every keystroke re-applies the term, so the rows follow the typing
(k9s); a term that is not a valid regex leaves the last good filter in place and says why
in one line (`Failed`), never a traceback. The screen turns `Applied` and `Failed` into its
status line.
"""

from __future__ import annotations

from typing import Protocol

from textual.message import Message
from textual.widget import Widget

from widgets.prompt_bar import PromptBar
from widgets.row_query import FilterError


class Filterable(Protocol):
    """What the prompt filters: a table (rows) or a tree (chains)."""

    noun: str

    @property
    def filter(self) -> str: ...

    @property
    def total(self) -> int: ...

    def set_filter(self, term: str) -> int: ...

    def focus(self, scroll_visible: bool = True) -> Widget: ...


class FilterPrompt(PromptBar):
    """A PromptBar that filters its target live."""

    class Requested(Message):
        """`/` was pressed on `target` (the screen opens its prompt for it)."""

        def __init__(self, target: Filterable) -> None:
            super().__init__()
            self.target = target

    class Applied(Message):
        """The target now shows `shown` of `total` for `term` ("" cleared it)."""

        def __init__(self, target: Filterable, term: str, shown: int, total: int) -> None:
            super().__init__()
            self.target = target
            self.term = term
            self.shown = shown
            self.total = total

    class Failed(Message):
        """`term` cannot filter (`error` is one line); the last good filter stays."""

        def __init__(self, target: Filterable, term: str, error: str) -> None:
            super().__init__()
            self.target = target
            self.term = term
            self.error = error

    def __init__(self, *, cursor_blink: bool = True, id: str | None = None) -> None:
        super().__init__(cursor_blink=cursor_blink, id=id)
        self._target: Filterable | None = None
        self._before = ""

    # ------------------------------------------------------------------ public API

    @property
    def target(self) -> Filterable | None:
        """The widget being filtered while the prompt is open."""
        return self._target if self.is_open else None

    def open_for(self, target: Filterable) -> None:
        """Ask for a term for `target`, starting from its current one."""
        self._target, self._before = target, target.filter
        self.ask(
            "filter",
            f"filter {target.noun}: regex, !regex inverts (Enter keeps, Esc restores)",
            target.filter,
        )

    # ------------------------------------------------------------------ handlers

    def watch_value(self, value: str) -> None:
        if self.is_open and self._target is not None:
            self._apply(value)

    async def action_submit(self) -> None:
        target = self._target
        if target is None:
            return
        self._finish(target)
        self._apply(self.value)

    def action_cancel(self) -> None:
        target = self._target
        if target is None:
            return
        self._finish(target)
        self._apply(self._before)

    # ------------------------------------------------------------------ helpers

    def _finish(self, target: Filterable) -> None:
        self.remove_class("-open")
        self.kind = ""
        target.focus()

    def _apply(self, term: str) -> None:
        target = self._target
        if target is None:
            return
        try:
            shown = target.set_filter(term)
        except FilterError as exc:
            self.post_message(self.Failed(target, term, str(exc)))
            return
        self.post_message(self.Applied(target, term.strip(), shown, target.total))
