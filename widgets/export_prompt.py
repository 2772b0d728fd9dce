"""The path prompt of an export: a default name, never an overwrite the user did not ask.

`open(what, text, default)` proposes a path; Enter writes the file in a worker thread
(`kata_console.exports.write_export`: exclusive create, or a rename over the old file
once confirmed). A path that exists keeps the prompt open and says so: Enter again on the
same path overwrites it, any other path is a new try. A path that cannot be written (no
such directory) keeps the prompt open too, with the path as typed, to be corrected. The outcome is one `Done` message
(what happened, with the file's full path), which the screen puts in its status line.
"""

from __future__ import annotations

import asyncio

from textual.message import Message
from textual.widget import Widget

from kata_console.exports import ExportError, FileExists, write_export
from widgets.prompt_bar import PromptBar


class ExportPrompt(PromptBar):
    """A PromptBar that writes `text` to the path typed."""

    class Done(Message):
        """The export finished (`level` "info"), failed ("error") or waits ("warning")."""

        def __init__(self, message: str, level: str, path: str | None = None) -> None:
            super().__init__()
            self.message = message
            self.level = level
            #: the file written (absolute), None when nothing was
            self.path = path

    def __init__(self, *, cursor_blink: bool = True, id: str | None = None) -> None:
        super().__init__(cursor_blink=cursor_blink, id=id)
        self.what = ""
        self.text = ""
        self._confirm: str | None = None
        self._return_to: Widget | None = None

    def open(self, what: str, text: str, default: str, kind: str = "JSON") -> None:
        """Propose `default` as the file for `what` (a short description for messages)."""
        self.what, self.text, self._confirm = what, text, None
        self._return_to = self.screen.focused
        self.ask("export", f"export {what} as {kind} to (Enter writes, Esc cancels)", default)

    async def action_submit(self) -> None:
        path = self.value.strip()
        overwrite = path == self._confirm
        try:
            written = await asyncio.to_thread(write_export, path, self.text, overwrite=overwrite)
        except FileExists as exc:
            self._confirm = path
            self.post_message(
                self.Done(f"{exc}: Enter again overwrites it, or change the name", "warning")
            )
            return
        except ExportError as exc:
            # open with the path as typed: a typo in a directory is corrected, not retyped
            self._confirm = None
            self.post_message(
                self.Done(f"export failed: {exc}: correct the path, or Esc cancels", "error")
            )
            return
        self._finish()
        self.post_message(self.Done(f"exported {self.what} to {written}", "info", written))

    def action_cancel(self) -> None:
        self._finish()
        self.post_message(self.Done(f"export of {self.what} cancelled", "info"))

    def _finish(self) -> None:
        self.close()
        if self._return_to is not None and self._return_to.is_attached:
            self._return_to.focus()
