"""Every log line of the source in one pane (engine, agents, containers' output).

Each line shows the sandbox and container it belongs to (long ids by their first 12
characters); `s` keeps only the lines of one sandbox, `sandbox/container` or container
(a prefix of the id is enough; Tab-style suggestions come from the lines retained), and
an empty answer shows every line again. Esc clears the scope before it leaves the view.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding

from kata_console.screens.base import ConsoleScreen
from widgets.log_pane import LogPane
from widgets.prompt_bar import PromptBar


class LogsScreen(ConsoleScreen):
    """The merged log of everything."""

    BINDINGS = [Binding("s", "scope", "Scope", id="logs.scope")]

    crumbs = ("logs",)

    def compose_body(self) -> ComposeResult:
        yield LogPane(
            title="all logs",
            max_lines=self.kc.log_max_lines,
            cursor_blink=self.kc.cursor_blink,
            show_scope=True,
            id="all-logs",
        )
        yield PromptBar(id="scope-prompt", cursor_blink=self.kc.cursor_blink)

    def on_mount(self) -> None:
        super().on_mount()
        pane = self.query_one(LogPane)
        self.kc.attach_log_pane(pane)
        pane.view.focus()

    @property
    def pane(self) -> LogPane:
        return self.query_one(LogPane)

    # ------------------------------------------------------------------ actions

    def action_scope(self) -> None:
        names = self.pane.buffer.scopes()
        names += [s.id for s in self.kc.sandboxes if s.id not in names]
        self.query_one("#scope-prompt", PromptBar).ask(
            "scope",
            "lines of: <sandbox> | <sandbox>/<container> | <container> (prefix; empty: all)",
            self.pane.buffer.scope,
            names,
        )

    def action_back(self) -> None:
        if self.pane.buffer.scope:
            self._scope("")
            return
        super().action_back()

    # ------------------------------------------------------------------ handlers

    def on_prompt_bar_answered(self, event: PromptBar.Answered) -> None:
        if event.kind != "scope":
            return
        event.stop()
        self._scope(event.value)
        self.pane.view.focus()

    def on_prompt_bar_cancelled(self, event: PromptBar.Cancelled) -> None:
        if event.kind != "scope":
            return
        event.stop()
        self.pane.view.focus()

    # ------------------------------------------------------------------ helpers

    def _scope(self, scope: str) -> None:
        pane = self.pane
        pane.set_scope(scope)
        buffer = pane.buffer
        if scope.strip():
            shown = len(buffer.visible)
            self.status(f"scope {scope.strip()}: {shown} of {len(buffer)} lines (Esc: every line)")
            if not shown:
                self.status(f"no retained line belongs to {scope.strip()!r}", "warning")
        else:
            self.query_one("#status").clear()  # type: ignore[attr-defined]
