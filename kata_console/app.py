"""`KataConsole`: the Textual app over a `ConsoleSource`.

The app owns the one picture of the world (`sandboxes`, reloaded from the source and
pushed to every open view), the log history, navigation, and the safety rules for
mutating operations (read-only refusal, confirmation, debounce, errors as a status line).
Screens render; the source does the work; nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import weakref
from collections import deque
from collections.abc import Callable

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import ModalScreen, Screen
from textual.widgets import Input

from kata_console.navigation import Navigation
from kata_console.screens.base import ConsoleScreen
from kata_console.screens.palette import ConsoleCommands
from kata_console.screens.sandboxes import SandboxesScreen
from kata_console.sources.model import (
    ConsoleError,
    ConsoleSource,
    LogLine,
    Operation,
    SandboxView,
    SourceEvent,
    StateChanged,
)
from widgets.log_buffer import DEFAULT_MAX_LINES
from widgets.log_pane import LogPane
from widgets.status_line import StatusLine

#: seconds between two drains of the source's event queue
DRAIN_INTERVAL = 0.05
#: seconds between two re-renders of what grows with time (ages, an operation's elapsed
#: time); the source is not reloaded for it
AGE_TICK = 1.0
_VERBS = {
    "create": "Create",
    "start": "Start",
    "stop": "Stop",
    "pause": "Pause",
    "resume": "Resume",
    "kill": "Kill",
    "delete": "Delete",
}


class KataConsole(Navigation, App[None]):
    """The console. Build it with a source; the CLI (`kata_console.cli.tui`) picks which."""

    CSS_PATH = "app.tcss"
    TITLE = "kata-console"
    COMMANDS = App.COMMANDS | {ConsoleCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("T", "stepthrough", "Step-through", id="app.stepthrough", show=False),
        # while an operation runs the status line names it; otherwise it gives Textual's
        # quit hint, as ctrl+c always did (a disabled binding would swallow the key)
        Binding(
            "ctrl+c", "cancel_op", "Cancel the running operation", id="app.cancel_op", show=False
        ),
    ]

    def __init__(
        self,
        source: ConsoleSource,
        *,
        allow_actions: bool = False,
        theme: str = "textual-dark",
        refresh_interval: float | None = None,
        log_max_lines: int = DEFAULT_MAX_LINES,
        cursor_blink: bool = True,
        animations: bool = True,
        debounce: float = 0.4,
        empty_notice: str = "",
        remember_theme: Callable[[str], str | None] | None = None,
        step_delay: float = 0.0,
    ) -> None:
        """Args:
        source: where sandboxes, chains and logs come from.
        allow_actions: run mutating operations even on a read-only source.
        theme: Textual theme name.
        refresh_interval: reload every N seconds (None: only on source events and ctrl+r).
        log_max_lines: bound of every log buffer.
        cursor_blink: blink input cursors (tests and snapshots turn it off).
        animations: False sets animation_level "none" (snapshots).
        debounce: the same operation asked again within this many seconds is ignored.
        empty_notice: what the sandboxes view says when the source has none.
        remember_theme: called with a theme chosen while running (the palette); returns
            why it could not be kept, or None.
        step_delay: seconds between two steps when `c` continues a step-through (slow
            motion); 0 runs freely.
        """
        super().__init__()
        self.source = source
        self.allow_actions = allow_actions
        self.theme = theme
        self.refresh_interval = refresh_interval
        self._suspended = False  # ctrl+z: nobody sees the screen, so nothing is refreshed
        self.log_max_lines = log_max_lines
        self.cursor_blink = cursor_blink
        self.debounce = debounce
        self.empty_notice = empty_notice
        self._remember_theme = remember_theme
        self.step_delay = step_delay
        if not animations:
            self.animation_level = "none"
        #: the current picture; replaced (never mutated) on every reload
        self.sandboxes: list[SandboxView] = []
        self._events: deque[SourceEvent] = deque()
        self._history: deque[LogLine] = deque(source.logs(), maxlen=log_max_lines)
        self._panes: weakref.WeakSet[LogPane] = weakref.WeakSet()
        self._unsubscribe: Callable[[], None] | None = None
        self._busy = False
        #: the operation running now and when it started (time.monotonic)
        self._op_running: tuple[Operation, float] | None = None
        self._cancel_asked = False
        self._last_request: tuple[Operation | None, float] = (None, 0.0)
        #: operations that ran (or failed), in order: (operation, error or None)
        self.op_results: list[tuple[Operation, str | None]] = []

    # ------------------------------------------------------------------ lifecycle

    def get_default_screen(self) -> Screen[None]:
        return SandboxesScreen()

    async def on_mount(self) -> None:
        # SIGTERM/SIGHUP (a closed terminal, `kill`) exit like `q`: the source then stops its
        # agents and removes its state instead of leaving them behind.
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self.exit)
        self._unsubscribe = self.source.subscribe(self._events.append)
        if self._remember_theme is not None:  # a theme picked from now on is kept
            self.theme_changed_signal.subscribe(self, self._theme_chosen)
        self.set_interval(DRAIN_INTERVAL, self._drain, name="source-events")
        if getattr(self.source, "stepthrough", False):  # a plan: open it in the step-through
            self.open_stepthrough()
        if self.refresh_interval:
            self.set_interval(self.refresh_interval, self._tick_refresh, name="refresh")
        self.set_interval(AGE_TICK, self._tick_ages, name="ages")
        self.app_suspend_signal.subscribe(self, lambda _: self._set_suspended(True))
        self.app_resume_signal.subscribe(self, lambda _: self._set_suspended(False))
        await self._load()

    async def on_unmount(self) -> None:
        self._cancel_asked = False  # cancelled by the exit, not by the operator
        if self._unsubscribe is not None:
            self._unsubscribe()
        # An operation still in flight would write into the state the source removes.
        for worker in self.workers:
            if worker.group == "ops":
                worker.cancel()
        for worker in list(self.workers):
            if worker.group == "ops":
                with contextlib.suppress(Exception):
                    await worker.wait()
        close = getattr(self.source, "close", None)  # engine sources own agent processes
        if close is not None:
            try:
                await close()
            except Exception as exc:  # shutting down: say it, never a traceback
                self.log.error(f"closing the source failed: {exc}")

    async def _on_key(self, event: events.Key) -> None:
        """Type-ahead: characters typed right after `/` or `:` were already on their way to
        the pane that had focus when the prompt opened; they belong to the prompt. An input
        stops every character it takes, so one that reaches the app while an input has
        focus is such a key (Enter and Esc need nothing: bindings follow the focus)."""
        if not self.screen_stack:  # shutting down: a key still queued has no view
            event.prevent_default()
            return
        focused = self.focused
        if event.is_printable and event.character and isinstance(focused, Input):
            focused.insert_text_at_cursor(event.character)
            # App._on_key runs next (handlers run down the MRO): no binding for this key
            event.prevent_default()

    # ------------------------------------------------------------------ state

    @property
    def actions_refused(self) -> bool:
        """Mutating operations are refused (read-only source without --allow-actions, or a
        source that drives no Kata runtime)."""
        return (self.source.read_only and not self.allow_actions) or self.actions_impossible

    @property
    def actions_impossible(self) -> bool:
        """The source drives no Kata runtime: no lifecycle action can apply, whatever the
        flags (the views do not offer them)."""
        return not getattr(self.source, "drives_runtime", True)

    def standing_notice(self) -> str:
        if self.actions_impossible:
            return f"read-only: {self.source.read_only_reason}; the console drives no Kata runtime"
        if self.actions_refused:
            return (
                f"read-only: {self.source.read_only_reason}; lifecycle actions are disabled "
                "(start with --allow-actions to enable them)"
            )
        if self.source.read_only:
            return "actions allowed on a read-only source (--allow-actions): be careful"
        return ""

    def sandbox(self, sandbox_id: str) -> SandboxView | None:
        return next((s for s in self.sandboxes if s.id == sandbox_id), None)

    def reload(self) -> None:
        """Reload from the source in a worker (a burst of calls collapses into one)."""
        self._reload_worker()

    def _theme_chosen(self, theme: object) -> None:
        name = getattr(theme, "name", str(theme))
        problem = self._remember_theme(name) if self._remember_theme else None
        if problem:
            self._status(problem, "warning")

    def _set_suspended(self, value: bool) -> None:
        self._suspended = value

    def _tick_refresh(self) -> None:
        """The periodic refresh, paused while a modal is open (the user is reading or
        answering it) or the app is suspended: ctrl+r still reloads at once."""
        if isinstance(self.screen, ModalScreen) or self._suspended:
            return
        if any(w.group == "load" and not w.is_finished for w in self.workers):
            return  # a slow inspection (a hung shim) finishes and shows; never restarted
        self.reload()

    def _tick_ages(self) -> None:
        """Ages, uptimes and an operation's elapsed time grow every second on every
        source: re-render the view in front from the picture it has (no reload; a
        ResourceTable rewrites only the cells that changed)."""
        if self._suspended:
            return
        if self._op_running is not None:
            self._show_running(self._op_running)
        for screen in reversed(self.screen_stack):
            if isinstance(screen, ConsoleScreen) and screen.is_mounted:
                with contextlib.suppress(NoMatches):  # a view being built or torn down
                    screen.show_sandboxes(self.sandboxes)
                return

    @work(exclusive=True, group="load", exit_on_error=False)
    async def _reload_worker(self) -> None:
        await self._load()

    async def _load(self) -> None:
        try:
            self.sandboxes = await self.source.load()
        except Exception as exc:  # a source failure is a status line, never a traceback
            self.report_error(f"cannot load sandboxes: {exc}")
            return
        for screen in self.screen_stack:
            if isinstance(screen, ConsoleScreen) and screen.is_mounted:
                screen.show_markers()
                screen.show_sandboxes(self.sandboxes)

    # ------------------------------------------------------------------ logs

    def attach_log_pane(self, pane: LogPane) -> None:
        """Feed a pane the history it is scoped to, then every new line."""
        self._panes.add(pane)
        pane.push(self._history)
        pane.flush()

    def report_error(self, message: str) -> None:
        """An error for the user: the status line of the current view and the logs."""
        self._status(message, "error")
        line = LogLine(self.source.now(), "console", "error", message)
        self._events.append(line)

    def _drain(self) -> None:
        if not self._events:
            return
        lines: list[LogLine] = []
        changed = False
        while self._events:
            event = self._events.popleft()
            if isinstance(event, LogLine):
                lines.append(event)
            elif isinstance(event, StateChanged):
                changed = True
        if lines:
            self._history.extend(lines)
            for pane in list(self._panes):
                pane.push(lines)
        if changed:
            self.reload()

    # ------------------------------------------------------------------ operations

    def request_op(self, op: Operation) -> None:
        """Ask for confirmation of `op`, showing exactly what will run, then run it."""
        from kata_console.screens.confirm import ConfirmScreen

        if self.actions_refused:
            self._status(f"refused: {self.source.read_only_reason}", "error")
            return
        now = time.monotonic()
        last, when = self._last_request
        if self._busy:
            self._status(
                f"an operation is still running; wait for it to finish or {self._cancel_key()} "
                "cancels it",
                "warning",
                until=lambda: not self._busy,
            )
            return
        if last == op and now - when < self.debounce:
            return  # key repeat: ignore quietly
        self._last_request = (op, now)
        verb = _VERBS.get(op.op.split("_")[0], op.op)
        refusal = getattr(self.source, "refusal", None)
        reason = refusal(op) if refusal is not None else None
        if reason:  # refused up front: nothing is previewed that could not run (the log
            # keeps the whole reason when the status line has to cut it)
            self.report_error(f"cannot {verb.lower()} {op.target}: {reason}")
            return
        try:
            text = self.source.describe(op)
        except ConsoleError as exc:
            self._status(str(exc), "error")
            return
        question = f"{verb} {op.target}?"

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._run_op(op)
            else:
                self._status(f"cancelled: {op.op} {op.target}")

        self.push_screen(ConfirmScreen(question, text), confirmed)

    def action_cancel_op(self) -> None:
        """Cancel the operation that runs (what the engine does on cancellation, such as
        a create's rollback, still runs); without one, ctrl+c says how to quit."""
        if self._op_running is None:
            self.action_help_quit()
            return
        self._cancel_asked = True
        for worker in self.workers:
            if worker.group == "ops" and not worker.is_finished:
                worker.cancel()

    @work(group="ops", exit_on_error=False)
    async def _run_op(self, op: Operation) -> None:
        self._busy = True
        self._op_running = (op, time.monotonic())
        self._cancel_asked = False
        self.refresh_bindings()
        self._show_running(self._op_running)
        error: str | None = None
        note: str | None = None
        try:
            note = await self.source.run_op(op)
        except ConsoleError as exc:
            error = str(exc)
        except asyncio.CancelledError:
            if not self._cancel_asked:
                raise  # the console is closing
            error = "cancelled by the operator"
        except Exception as exc:  # an engine bug must not take the console down
            error = f"{type(exc).__name__}: {exc}"
        finally:
            started = self._op_running[1] if self._op_running else time.monotonic()
            self._busy = False
            self._op_running = None
            self.refresh_bindings()
        took = time.monotonic() - started
        self.op_results.append((op, error))
        after = f" after {took:.0f}s" if took >= 1 else ""
        if error is None:
            self._status(f"{op.op} {op.target}: done{after}" + (f": {note}" if note else ""))
        else:
            self.report_error(f"{op.op} {op.target} failed{after}: {error}")
        await self._load()

    def _show_running(self, running: tuple[Operation, float]) -> None:
        """`running stop_sandbox sb-web... 3s (ctrl+c cancels)` on every view, except where
        something newer than the operation's start is shown."""
        op, started = running
        elapsed = int(time.monotonic() - started)
        text = f"running {op.op} {op.target}... {elapsed}s ({self._cancel_key()} cancels)"
        prefix = f"running {op.op} {op.target}..."
        for line in self._status_lines():
            if line.message and not line.message.startswith(prefix) and line.shown_at > started:
                continue  # a later message (an error the operator must read) stays
            line.show(text, until=lambda: self._op_running is not running)

    def _cancel_key(self) -> str:
        keymap: dict[str, str] = getattr(self, "_keymap", {}) or {}
        key = keymap.get("app.cancel_op", "ctrl+c").split(",")[0].strip()
        return self.get_key_display(Binding(key, "cancel_op"))

    def _status_lines(self) -> list[StatusLine]:
        return [
            screen.query_one(StatusLine)
            for screen in self.screen_stack
            if isinstance(screen, ConsoleScreen) and screen.is_mounted
        ]

    def _status(
        self,
        message: str,
        level: str = "info",
        *,
        until: Callable[[], bool] | None = None,
    ) -> None:
        """A message of the app's own: on every open view, so the one the operator goes
        back to does not still say what has stopped being true."""
        for line in self._status_lines():
            line.show(message, level, until=until)
