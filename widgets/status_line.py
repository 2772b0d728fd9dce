"""The last message, on as many rows as it needs (a few at most): errors in red, info
dim, a standing read-only notice.

Errors never become tracebacks or toasts (toasts are timing-dependent and hide content);
they land here and in the logs. A message that reports something ongoing ("running
stop_sandbox sb-web... 3s", "pausing at the next step") is shown with the condition that
ends it (`until`), and clears itself once that is over, so the line never goes on
claiming what has stopped being true. A message only replaces what is there: nothing
re-posts an old warning over a newer error (views post a standing condition once, when it
begins).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.content import Content
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from widgets.facts_panel import line_spans

#: seconds between two checks of whether the message's condition is over
CHECK_INTERVAL = 0.25


class StatusLine(Widget):
    """The status line above the footer."""

    DEFAULT_CSS = """
    StatusLine {
        height: auto;
        min-height: 1;
        max-height: 4;
        width: 1fr;
        background: $surface;
    }
    """

    message: reactive[str] = reactive("", layout=True)
    """The last message ("" shows the standing notice)."""
    level: reactive[str] = reactive("info")
    """info | error | warning: decides the colour."""
    notice: reactive[str] = reactive("", layout=True)
    """Shown when there is no message (e.g. why actions are disabled)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._until: Callable[[], bool] | None = None
        #: when the current message was shown (time.monotonic), 0.0 when none is
        self.shown_at = 0.0

    def on_mount(self) -> None:
        self.set_interval(CHECK_INTERVAL, self._check_over, name="status-over")

    # ------------------------------------------------------------------ public API

    def show(
        self, message: str, level: str = "info", *, until: Callable[[], bool] | None = None
    ) -> None:
        """Replace the message (newlines are flattened). `until`: a condition
        that is true once what the message reports is over; the line then clears."""
        self.level = level
        self.message = " ".join(message.split())
        self._until = until
        self.shown_at = time.monotonic()

    def clear(self) -> None:
        """Back to the standing notice."""
        self.message = ""
        self._until = None
        self.shown_at = 0.0

    def render(self) -> Content:
        return Content("\n").join(self._lines(self.size.width))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))

    # ------------------------------------------------------------------ helpers

    def _lines(self, width: int) -> list[Content]:
        """The message cut into rows at spaces and after path separators: what matters
        often comes after the first 80 columns (the advice after a refusal, the end of
        an export's path), so a long message takes more rows instead of an ellipsis."""
        if not self.message:
            if not self.notice:
                return [Content("")]
            content = Content.styled(f" {self.notice}", "italic $text-muted")
        else:
            style = {"error": "bold $text-error", "warning": "$text-warning"}.get(
                self.level, "$text"
            )
            prefix = {"error": " error: ", "warning": " warning: "}.get(self.level, " ")
            content = Content.styled(prefix + self.message, style)
        # every row starts one column in, as the first does (its leading space)
        body = content[1:]
        return [Content(" ") + body[a:b] for a, b in line_spans(body.plain, width - 1)]

    def _check_over(self) -> None:
        if self._until is None:
            return
        try:
            over = self._until()
        except Exception:  # a condition about a view that went away: it is over too
            over = True
        if over:
            self.clear()
