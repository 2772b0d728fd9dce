"""A one-line prompt that opens at the bottom of a view for `/` filter, find and `:` jump.

Hidden until asked; Enter answers, Esc cancels (its own binding, so Esc closes the prompt
instead of leaving the screen). The kind of question travels with the answer so one bar
can serve several keys.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input


class PromptBar(Input):
    """An Input that is only shown while a question is open."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    DEFAULT_CSS = """
    PromptBar {
        dock: bottom;
        display: none;
        margin-bottom: 2;
        &.-open { display: block; }
    }
    """

    class Answered(Message):
        """The user pressed Enter (handled by `on_prompt_bar_answered`)."""

        def __init__(self, prompt: PromptBar, kind: str, value: str) -> None:
            super().__init__()
            self.prompt = prompt
            self.kind = kind
            self.value = value

    class Cancelled(Message):
        """The user pressed Esc (handled by `on_prompt_bar_cancelled`)."""

        def __init__(self, prompt: PromptBar, kind: str) -> None:
            super().__init__()
            self.prompt = prompt
            self.kind = kind

    def __init__(self, *, cursor_blink: bool = True, id: str | None = None) -> None:
        super().__init__(id=id, compact=True)
        self.cursor_blink = cursor_blink
        self.kind = ""

    # ------------------------------------------------------------------ public API

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def ask(
        self, kind: str, placeholder: str, value: str = "", suggestions: list[str] | None = None
    ) -> None:
        """Open the bar for a question of this kind and focus it."""
        self.kind = kind
        self.placeholder = placeholder
        self.suggester = SuggestFromList(suggestions, case_sensitive=False) if suggestions else None
        self.value = value
        self.cursor_position = len(value)
        self.add_class("-open")
        # focus now, not after the queue: keys typed right after the key that opened the
        # bar are already queued, and must reach the bar, not the table behind it
        self.screen.set_focus(self)

    def close(self) -> None:
        """Hide the bar; focus goes back to the view."""
        self.remove_class("-open")
        self.kind = ""
        self.screen.focus_next()

    # ------------------------------------------------------------------ handlers

    def action_cancel(self) -> None:
        kind = self.kind
        self.close()
        self.post_message(self.Cancelled(self, kind))

    async def action_submit(self) -> None:
        kind, value = self.kind, self.value
        self.close()
        self.post_message(self.Answered(self, kind, value))
