"""The `/` filter of every table and tree of a view, in one place for every screen.

A table or tree posts `FilterPrompt.Requested`; the screen's one `FilterPrompt` opens for
it, filters as the user types, and its `Applied` / `Failed` land in the status line: how
many rows the term keeps, or why the term is no regex (the last good filter stays). Esc
on a filtered widget clears its filter before it leaves the view.
"""

from __future__ import annotations

from textual.screen import Screen

from widgets.filter_prompt import FilterPrompt
from widgets.status_line import StatusLine


class FilterHandling(Screen[None]):
    """Mixed into `ConsoleScreen`: the filter prompt's messages and Esc's first duty."""

    def on_filter_prompt_requested(self, event: FilterPrompt.Requested) -> None:
        event.stop()
        self.query_one(FilterPrompt).open_for(event.target)

    def on_filter_prompt_applied(self, event: FilterPrompt.Applied) -> None:
        event.stop()
        self.refresh_bindings()  # Esc clears a filter, even on the first view
        line = self.query_one(StatusLine)
        if event.term:
            noun = event.target.noun
            # while typing Esc gives the previous filter back; once kept, Esc clears it
            typing = self.query_one(FilterPrompt).is_open
            keys = "Enter keeps, Esc restores" if typing else "Esc clears"
            line.show(f"filter /{event.term}: {event.shown} of {event.total} {noun} ({keys})")
        elif line.message.startswith("filter"):
            line.clear()

    def on_filter_prompt_failed(self, event: FilterPrompt.Failed) -> None:
        event.stop()
        kept = event.target.filter
        still = f"; still /{kept}" if kept else ""
        self.query_one(StatusLine).show(f"filter: {event.error}{still}", "error")
        self.refresh_bindings()  # Esc takes the error away, even on the first view

    def filter_error_shown(self) -> bool:
        """The status line holds a bad term's error (Esc clears it)."""
        line = self.query_one(StatusLine)
        return line.level == "error" and line.message.startswith("filter: ")

    def clear_focused_filter(self) -> bool:
        """Esc on a filtered table or tree clears its filter (True: it did)."""
        focused = self.focused
        if focused is None or not getattr(focused, "filter", ""):
            if self.filter_error_shown():
                self.query_one(StatusLine).clear()  # over once the user moves on
                self.refresh_bindings()
            return False
        focused.set_filter("")  # type: ignore[attr-defined]
        self.refresh_bindings()
        line = self.query_one(StatusLine)
        if line.message.startswith("filter"):
            line.clear()
        return True
