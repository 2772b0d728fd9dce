"""`D`: the raw document behind a sandbox, container or device (k9s's describe / YAML).

On a host or a recording it is the persist.json as read (again, when the view opens and
on ctrl+r), on the demo and plan sources the persist.json the engine wrote, elsewhere what
the console holds, and the line above the document says which. JSON is shown indented
and highlighted; `r` switches to the text exactly as read (a torn file only has that).
`/` finds, `n` / `N` walk the matches, `y` copies what is shown, ctrl+e saves it.
"""

from __future__ import annotations

from dataclasses import replace

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from kata_console.screens.resource import ResourceScreen
from kata_console.sources.model import SandboxView
from kata_console.sources.rawdocs import GONE, RawDocument, Target, title_of, view_document
from widgets.document_view import DocumentView
from widgets.prompt_bar import PromptBar


def describe_crumbs(target: Target) -> tuple[str, ...]:
    """Where the describe view of `target` sits (also its place on the navigation stack)."""
    if target[0] == "container":
        return ("sandboxes", target[1], target[2], "describe")
    if target[0] == "device":
        return ("sandboxes", target[1], f"device {target[2]}", "describe")
    return ("sandboxes", target[1], "describe")


class DescribeScreen(ResourceScreen):
    """One document, read when the view opens."""

    BINDINGS = [
        Binding("slash", "find", "Find", id="describe.find", key_display="/"),
        Binding("y", "copy_path", "Copy", id="describe.copy"),
        Binding("r", "raw", "As read", id="describe.raw"),
        Binding("ctrl+e", "export", "Save", id="describe.save"),
    ]

    can_describe = False

    DEFAULT_CSS = """
    DescribeScreen > #describe-origin {
        height: auto;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    """

    def __init__(self, target: Target) -> None:
        super().__init__()
        self.target = target
        self.crumbs = describe_crumbs(target)
        self.document: RawDocument | None = None
        #: show the text exactly as read instead of the indented JSON
        self.raw = False

    def compose_body(self) -> ComposeResult:
        yield Static("reading…", id="describe-origin")
        yield DocumentView(id="document")
        yield PromptBar(id="find-prompt", cursor_blink=self.kc.cursor_blink)

    def on_mount(self) -> None:
        super().on_mount()
        view = self.query_one(DocumentView)
        view.border_title = title_of(self.target)
        view.focus()
        self.read()

    # ------------------------------------------------------------------ public API

    @property
    def shown_text(self) -> str:
        """The text on screen (indented JSON, or the file as read)."""
        return self.query_one(DocumentView).text

    @work(exclusive=True, group="describe", exit_on_error=False)
    async def read(self) -> None:
        """Read the document from the source (a worker: a host read may be slow)."""
        source = self.kc.source
        ask = getattr(source, "raw_document", None)
        try:
            if ask is None:
                doc = view_document(self.target, self.kc.sandboxes, "this source keeps no file")
            else:
                doc = await ask(self.target, self.kc.sandboxes)
        except Exception as exc:  # one line, never a traceback
            self.query_one("#describe-origin", Static).update("")
            self.status(f"cannot read {title_of(self.target)}: {exc}", "error")
            return
        self.document = doc
        self._show()

    # ------------------------------------------------------------------ ConsoleScreen

    def show_sandboxes(self, sandboxes: list[SandboxView]) -> None:
        sb = next((s for s in sandboxes if s.id == self.target[1]), None)
        gone = sb is None
        if sb is not None and self.target[0] == "container":
            gone = sb.container(self.target[2]) is None
        if sb is not None and self.target[0] == "device":
            gone = not any(d.id == self.target[2] for d in sb.devices)
        if gone:
            doc = self.document
            shown = doc is not None and doc.origin != GONE
            last = "; the document is as last read" if shown else ""
            self.status(f"{title_of(self.target)} is gone{last}", "warning")

    # ------------------------------------------------------------------ actions

    def action_reload(self) -> None:
        super().action_reload()
        self.read()

    def action_find(self) -> None:
        view = self.query_one(DocumentView)
        self.query_one("#find-prompt", PromptBar).ask(
            "find", "find (plain text; Enter: highlight and jump, empty: clear)", view.find
        )

    def action_raw(self) -> None:
        doc = self.document
        if doc is None:
            return
        if doc.pretty is None:
            self.status("this document is no JSON: it is shown as read", "warning")
            return
        self.raw = not self.raw
        self._show()
        self._label_raw()

    def action_copy_path(self) -> None:
        if self.document is None:
            return
        self.app.copy_to_clipboard(self.shown_text)
        lines = self.shown_text.count("\n") + 1
        self.status(f"copied {title_of(self.target)} ({lines} lines; OSC 52)")

    def action_export(self) -> None:
        doc = self.document
        if doc is None:
            return
        kind = "JSON" if doc.pretty is not None else "text"
        stem = "-".join(self.target)
        text = self.shown_text if self.shown_text.endswith("\n") else self.shown_text + "\n"
        self.ask_export(title_of(self.target), text, stem, kind)

    # ------------------------------------------------------------------ handlers

    def on_prompt_bar_answered(self, event: PromptBar.Answered) -> None:
        if event.kind != "find":
            return
        event.stop()
        view = self.query_one(DocumentView)
        view.focus()
        view.set_find(event.value)
        if not event.value:
            self.query_one("#status").clear()  # type: ignore[attr-defined]

    def on_document_view_match_moved(self, event: DocumentView.MatchMoved) -> None:
        """Which match is current, of how many: `3/9` as `n` / `N` walk them."""
        event.stop()
        view = self.query_one(DocumentView)
        if not view.find:
            return
        if not view.matches:
            self.status(f"find {view.find!r}: no match", "warning")
            return
        at = (view.current or 0) + 1
        self.status(f"find {view.find!r}: match {at}/{len(view.matches)} (n / N)")

    def on_prompt_bar_cancelled(self, event: PromptBar.Cancelled) -> None:
        if event.kind != "find":
            return
        event.stop()
        self.query_one(DocumentView).focus()

    # ------------------------------------------------------------------ helpers

    def _label_raw(self) -> None:
        """The footer names what `r` switches to (as read, or back to indented). The
        screen's own copy of its bindings is relabelled; a keymap still applies by id."""
        label = "Indented" if self.raw else "As read"
        table = self._bindings.key_to_bindings
        for key, bindings in table.items():
            table[key] = [
                replace(b, description=label) if b.id == "describe.raw" else b for b in bindings
            ]
        self.refresh_bindings()

    def _show(self) -> None:
        doc = self.document
        if doc is None:
            return
        raw = self.raw or doc.pretty is None
        text = doc.raw if raw else (doc.pretty or "")
        origin = doc.origin + ("; shown as read" if raw and doc.pretty else "")
        if doc.pretty is not None and not raw:
            origin += "; shown indented (r: as read)"
        if doc.note:
            origin += f"; {doc.note}"
        self.query_one("#describe-origin", Static).update(Text(origin))
        self.query_one(DocumentView).show(text, "json" if doc.pretty is not None else "text")
