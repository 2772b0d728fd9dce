"""Every log line of the source in one pane (engine, agents, containers' output)."""

from __future__ import annotations

from textual.app import ComposeResult

from kata_console.screens.base import ConsoleScreen
from widgets.log_pane import LogPane


class LogsScreen(ConsoleScreen):
    """The merged log of everything."""

    crumbs = ("logs",)

    def compose_body(self) -> ComposeResult:
        yield LogPane(
            title="all logs",
            max_lines=self.kc.log_max_lines,
            cursor_blink=self.kc.cursor_blink,
            id="all-logs",
        )

    def on_mount(self) -> None:
        super().on_mount()
        pane = self.query_one(LogPane)
        self.kc.attach_log_pane(pane)
        pane.view.focus()
