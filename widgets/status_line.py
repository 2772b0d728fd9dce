"""One line for the last message: errors in red, info dim, a standing read-only notice.

Errors never become tracebacks or toasts (toasts are timing-dependent and hide content);
they land here and in the logs.
"""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget


class StatusLine(Widget):
    """The status line above the footer."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        width: 1fr;
        background: $surface;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    message: reactive[str] = reactive("")
    """The last message ("" shows the standing notice)."""
    level: reactive[str] = reactive("info")
    """info | error | warning: decides the colour."""
    notice: reactive[str] = reactive("")
    """Shown when there is no message (e.g. why actions are disabled)."""

    def show(self, message: str, level: str = "info") -> None:
        """Replace the message (one line; newlines are flattened)."""
        self.level = level
        self.message = " ".join(message.split())

    def clear(self) -> None:
        """Back to the standing notice."""
        self.message = ""

    def render(self) -> Content:
        if not self.message:
            return (
                Content.styled(f" {self.notice}", "italic $text-muted")
                if self.notice
                else Content("")
            )
        style = {"error": "bold $text-error", "warning": "$text-warning"}.get(self.level, "$text")
        prefix = {"error": " error: ", "warning": " warning: "}.get(self.level, " ")
        return Content.styled(prefix + self.message, style)
