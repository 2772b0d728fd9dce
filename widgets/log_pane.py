"""The log pane: engine events, agent records and container output in one stream.

Lines are pushed from anywhere (`push` is a list append, safe from any thread) and
written to the view on a timer in batches, never one widget update per line: a chatty
container cannot starve the UI (the k9s "logs fry the CPU" problem). The buffer is
bounded. Follow turns off when the user scrolls up and back on with End; pause freezes
the view while lines keep arriving; find highlights and n/N jump; filter hides lines.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from textual.actions import parse as parse_action
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from kata_console.keymap import live_bindings, priority_keys, typed_by_focus
from kata_console.sources.model import LogLine
from widgets.log_buffer import DEFAULT_MAX_LINES, LogBuffer
from widgets.log_view import LogView
from widgets.prompt_bar import PromptBar

#: seconds between two batched writes (k9s flushes every 50 ms too)
FLUSH_INTERVAL = 0.05


class LogPane(Vertical):
    """A titled, searchable, filterable, bounded log view.

    | Key | Description |
    | :- | :- |
    | end | Follow (scroll to the end and stay there). |
    | p, Z | Pause / resume the view. |
    | / | Find: highlight matches; n / N (f3 / shift+f3) next / previous. |
    | \\\\ | Filter: hide lines that do not match. |
    | w | Wrap long lines. |
    | t | Timestamps on / off. |
    | ctrl+s | Save the shown lines to a file (asks where; never overwrites silently). |
    | y | Copy the shown lines (OSC 52). |
    """

    BINDINGS = [
        Binding("end", "follow", "Follow", id="log.follow"),
        # second keys, as htop has them (Z freezes, F3 finds the next match): where a view
        # takes `p` and `n` for itself (the step-through's plan keys) they still reach the
        # pane, and the footer shows them there. One binding per key (the parameter says
        # which), so a key the view takes is off alone and never falls through to the pane
        Binding("p", "pause_view('p')", "Pause", id="log.pause"),
        Binding("Z", "pause_view('Z')", "Pause log", id="log.pause"),
        Binding("slash", "find", "Find", id="log.find"),
        Binding("n", "next_match('n')", "Next", id="log.next"),
        Binding("f3", "next_match('f3')", "Next", id="log.next"),
        Binding("N", "previous_match('N')", "Prev", id="log.previous"),
        Binding("shift+f3", "previous_match('shift+f3')", "Prev", id="log.previous"),
        Binding("backslash", "filter", "Filter", id="log.filter"),
        Binding("w", "wrap", "Wrap", id="log.wrap"),
        Binding("t", "timestamps", "Time", id="log.timestamps"),
        Binding("ctrl+s", "save", "Save", id="log.save"),
        Binding("y", "copy", "Copy", id="log.copy"),
    ]

    DEFAULT_CSS = """
    LogPane {
        height: 1fr;
        border: round $primary 50%;
        border-title-color: $text;
        &:focus-within { border: round $primary; }
        & > #log-status { height: 1; color: $text-muted; }
        & > PromptBar { margin-bottom: 0; }
    }
    """

    paused: reactive[bool] = reactive(False)
    """The view is frozen; lines still arrive and are shown on resume."""

    def __init__(
        self,
        *,
        title: str = "logs",
        scope: Callable[[LogLine], bool] | None = None,
        max_lines: int = DEFAULT_MAX_LINES,
        cursor_blink: bool = True,
        show_scope: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Args:
        title: border title.
        scope: only lines for which this returns True are kept (None: every line).
        max_lines: size of the bounded buffer.
        cursor_blink: blink the find/filter input cursor (tests turn it off).
        show_scope: show each line's sandbox/container (a pane of every line).
        """
        super().__init__(id=id, classes=classes)
        self.border_title = title
        self.scope = scope
        self.buffer = LogBuffer(max_lines)
        self.buffer.show_scope = show_scope
        self._pending: list[LogLine] = []
        self._prompt_kind = ""
        self._cursor_blink = cursor_blink
        #: widget updates done by flushes (the benchmark checks batching with it)
        self.flushes = 0

    def compose(self) -> ComposeResult:
        yield _PaneStatus(id="log-status")
        yield LogView(self.buffer, id="log-view")
        yield PromptBar(id="log-prompt", cursor_blink=self._cursor_blink)

    def on_mount(self) -> None:
        self.set_interval(FLUSH_INTERVAL, self.flush, name="log-flush")
        self._update_status()

    # ------------------------------------------------------------------ public API

    @property
    def view(self) -> LogView:
        return self.query_one(LogView)

    def push(self, lines: Iterable[LogLine]) -> None:
        """Queue lines for the next batched write (cheap; safe from any thread)."""
        scope = self.scope
        self._pending.extend(lines if scope is None else (x for x in lines if scope(x)))

    def flush(self) -> int:
        """Write queued lines now (the timer calls this); returns lines written."""
        if self.paused or not self._pending:
            return 0
        batch, self._pending = self._pending, []
        overflow = len(batch) - self.buffer.max_lines
        if overflow > 0:
            # they would be evicted by this very write: count them, skip the work, so one
            # flush costs at most max_lines lines however fast lines arrive
            self.buffer.skip(overflow)
            batch = batch[overflow:]
        written = self.buffer.extend(batch)
        self.flushes += 1
        view = self.view
        if view.current is not None and self.buffer.last_trim:
            shifted = view.current - self.buffer.last_trim
            view.current = shifted if shifted >= 0 else None
        view.rows_changed(restyle=self.buffer.widened)
        self.buffer.widened = False
        self._update_status()
        return written

    def set_find(self, term: str) -> None:
        """Highlight `term` and jump to its first match after the top of the view."""
        self.buffer.set_find(term)
        view = self.view
        view.current = None
        view.relayout()
        if term:
            self.action_next_match()
        self._update_status()

    def set_scope(self, scope: str) -> None:
        """Show only the lines of a sandbox, `sandbox/container` or container ("": all)."""
        self.buffer.set_scope(scope)
        self.view.current = None
        self.view.relayout()
        self._update_status()

    def set_filter(self, term: str) -> None:
        """Hide lines without `term` ("" shows all)."""
        self.buffer.set_filter(term)
        self.view.current = None
        self.view.relayout()
        self._update_status()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A key the pane's screen binds with priority (the step-through's `n` and `p`) is
        the screen's on that screen: the pane's binding of that key is off (not listed,
        and a dimmed plan key does not fall through to it) while its other key (`f3`,
        `Z`) works; nor is a key its open prompt types offered."""
        if not self.is_attached:
            return True
        if typed_by_focus(self, action):
            return False  # its prompt has focus and types the key (`/`, `\\`)
        mine = [
            key
            for key, binding in live_bindings(self)
            if parse_action(binding.action)[1:] == (action, parameters)
        ]
        return not (mine and set(mine) <= priority_keys(self.screen))

    def action_follow(self) -> None:
        self.paused = False
        self.flush()
        self.view.follow_end()

    def action_pause_view(self, key: str = "") -> None:
        """Not `pause`: the footer shows one key per action name, and the step-through's
        `pause` (the plan's) would hide this one."""
        self.paused = not self.paused
        if not self.paused:
            self.flush()

    def action_find(self) -> None:
        prompt = self.query_one(PromptBar)
        prompt.ask("find", "find (Enter: highlight and jump, empty: clear)", self.buffer.find)

    def action_filter(self) -> None:
        prompt = self.query_one(PromptBar)
        prompt.ask("filter", "filter (Enter: hide other lines, empty: clear)", self.buffer.filter)

    def action_next_match(self, key: str = "") -> None:
        """`key`: the binding's own key (its binding is off where the view takes it)."""
        self._jump(backwards=False)

    def action_previous_match(self, key: str = "") -> None:
        self._jump(backwards=True)

    def action_wrap(self) -> None:
        self.view.relayout(wrap=not self.view.wrap)
        self._update_status()

    def action_timestamps(self) -> None:
        self.buffer.timestamps = not self.buffer.timestamps
        self.view.relayout()

    def action_save(self) -> None:
        """Ask where to write the shown lines, offering ~/Downloads when there is one
        (a root shell often has none) and the working directory otherwise."""
        self.query_one(PromptBar).ask(
            "save", "save the shown lines to (Enter: write, Esc: cancel)", str(default_save_path())
        )

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.buffer.text_of())
        self.app.notify(f"copied {len(self.buffer.visible)} lines (OSC 52)", timeout=2)

    # ------------------------------------------------------------------ handlers

    def watch_paused(self) -> None:
        self._update_status()

    def on_log_view_follow_changed(self, event: LogView.FollowChanged) -> None:
        event.stop()
        self._update_status()

    def on_prompt_bar_answered(self, event: PromptBar.Answered) -> None:
        event.stop()
        saving = event.kind in ("save", "overwrite")
        if saving and not self._save(event.value, overwrite=event.kind == "overwrite"):
            return  # asked again (the file exists): the prompt keeps the focus
        self.view.focus()
        if event.kind == "find":
            self.set_find(event.value)
        elif event.kind == "filter":
            self.set_filter(event.value)

    def on_prompt_bar_cancelled(self, event: PromptBar.Cancelled) -> None:
        event.stop()
        self.view.focus()

    # ------------------------------------------------------------------ helpers

    def _save(self, answer: str, overwrite: bool) -> bool:
        """Write the shown lines; an existing file is only replaced after a second Enter.
        False when it asked that question (the prompt is open again)."""
        if not answer.strip():
            self._say("not saved: no file name given", "warning")
            return True
        path = Path(os.path.abspath(os.path.expanduser(answer.strip())))
        if path.exists() and not overwrite:
            if path.is_dir():
                self._say(f"not saved: {path} is a directory", "error")
                return True
            self.query_one(PromptBar).ask(
                "overwrite", f"{path} exists: Enter replaces it, Esc keeps it", str(path)
            )
            self._say(f"{path} exists: Enter replaces it, Esc keeps it", "warning")
            return False
        text = self.buffer.text_of()
        try:
            with path.open("w" if overwrite else "x", encoding="utf-8") as out:
                out.write(text)
        except OSError as exc:  # no such directory, permission, read-only file system
            self._say(f"not saved to {path}: {exc.strerror or exc}", "error")
            return True
        self._say(f"saved {len(self.buffer.visible)} lines to {path}")
        return True

    def _say(self, message: str, level: str = "info") -> None:
        """The view's status line when it has one (the console's views), else a toast."""
        status = getattr(self.screen, "status", None)
        if callable(status):
            status(message, level)
        else:
            self.app.notify(message, severity="information" if level == "info" else level)

    def _jump(self, backwards: bool) -> None:
        view = self.view
        target = self.buffer.next_match(view.current, backwards)
        if target is None:
            if self.buffer.find:
                self.app.bell()
            return
        view.goto(target)
        self._update_status()

    def _update_status(self) -> None:
        buffer, view = self.buffer, self.view if self.is_mounted else None
        parts: list[str | tuple[str, str]] = []
        if self.paused:
            parts += [(" PAUSED ", "bold $text on $warning"), f" +{len(self._pending)} queued  "]
        elif view is not None and view.follow:
            parts.append(("● follow  ", "$text-success"))
        else:
            parts.append(("○ follow off (End)  ", "$text-warning"))
        parts.append(f"{len(buffer.visible)}/{len(buffer)} lines")
        if buffer.dropped:
            parts.append(f" ({buffer.dropped} dropped, max {buffer.max_lines})")
        if buffer.scope:
            parts += ["  scope: ", (buffer.scope, "bold $accent")]
        if buffer.filter:
            parts += ["  filter: ", (buffer.filter, "bold $accent")]
        if buffer.find:
            current = view.current if view is not None else None
            where = buffer.matches.index(current) + 1 if current in buffer.matches else 0
            parts += ["  find: ", (buffer.find, "bold $accent"), f" {where}/{len(buffer.matches)}"]
        if view is not None and view.wrap:
            parts.append("  wrap")
        status = self.query(_PaneStatus)
        if status:  # gone while the view is torn down (a flush from the app's timer)
            status.first().content = Content.assemble(*parts)


def default_save_path() -> Path:
    """Where a save is offered: ~/Downloads (or $XDG_DOWNLOAD_DIR) when it exists, else
    the working directory; a name no file has yet."""
    downloads = Path(os.environ.get("XDG_DOWNLOAD_DIR") or "~/Downloads").expanduser()
    folder = downloads if downloads.is_dir() else Path.cwd()
    path = folder / "kata-console-logs.txt"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"kata-console-logs-{n}.txt"
    return path


class _PaneStatus(Widget):
    """The pane's one-line status. Repaint-only (a Static would re-layout the screen on
    every update, i.e. on every batch of lines)."""

    DEFAULT_CSS = "_PaneStatus { height: 1; }"

    content: reactive[Content] = reactive(Content(""), layout=False)
    """What the line says."""

    def render(self) -> Content:
        return self.content
