"""The confirmation modal: the exact operation, then yes or no.

Every mutating action goes through here; the text is the source's own description of
what will run (RPCs, hotplugs), so the operator approves the operation, not a label.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from widgets.key_footer import KeyFooter


class ConfirmScreen(ModalScreen[bool]):
    """Ask before running an operation; dismisses with True (run) or False."""

    BINDINGS = [
        # an action each: the footer lists one key per action name
        Binding("y", "run", "Run it", id="confirm.yes"),
        Binding("n,escape", "cancel", "Cancel", id="confirm.no"),
    ]

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
        & > #dialog {
            width: 90;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $warning;
            background: $surface;
            padding: 1 2;
        }
        & #question { text-style: bold; margin-bottom: 1; }
        & #operation {
            background: $panel;
            padding: 0 1;
            margin-bottom: 1;
        }
        & #buttons { height: auto; align-horizontal: right; }
        & Button { margin-left: 2; }
    }
    """

    def __init__(self, question: str, operation: str) -> None:
        super().__init__()
        self.question = question
        self.operation = operation

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.question, id="question")
            yield Label("This will run:", classes="dim")
            yield Static(self.operation, id="operation", markup=False)
            with Horizontal(id="buttons"):
                yield Button("Run (y)", variant="warning", id="yes")
                yield Button("Cancel (n)", id="no")
        yield KeyFooter()  # over the view's: its keys do not reach through the modal

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_run(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
