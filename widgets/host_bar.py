"""The host line under the breadcrumb, for sources that inspect a host: which machine
(hostname, kernel, CPUs, memory) and how fresh the picture is ("refreshed 3s ago", ticking
every second, so a stalled refresh shows instead of hiding behind old numbers)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from textual.content import Content
from textual.widget import Widget


class HostBar(Widget):
    """One line: the source's `header()` on the left, the age of its last refresh right."""

    DEFAULT_CSS = """
    HostBar {
        height: 1;
        width: 1fr;
        background: $panel;
        color: $text-muted;
    }
    """

    def __init__(self, source: Any, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._source = source

    def on_mount(self) -> None:
        self.set_interval(1.0, self.refresh, name="host-bar-tick")

    def render(self) -> Content:
        left = f" {self._source.header()}"
        refreshed: _dt.datetime | None = getattr(self._source, "refreshed", None)
        if refreshed is None:
            right = "refreshing… "
        else:
            age = max(0, int((self._source.now() - refreshed).total_seconds()))
            right = f"refreshed {age}s ago "
        room = self.size.width - len(right) - 1
        if len(left) > room > 1:  # the host's line keeps its start (what was found)
            left = left[: room - 1] + "\u2026"
        pad = max(1, self.size.width - len(left) - len(right))
        return Content.assemble(left, " " * pad, (right, "bold" if refreshed else ""))
