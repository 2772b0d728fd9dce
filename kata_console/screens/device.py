"""One device of a sandbox, whole: the device table cuts the host path to its tail and
has no room for which containers hold the device; Enter on its row shows both here, with
what a host shows for it (the erofs mount and the loop device) on a host source.

The modal takes the keys the row takes for its device (`y` copies the host path, `D`
describes it) and lists them in a footer of its own: the view's footer behind it would
offer keys (start, stop) that do not reach through a modal.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, cast

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from kata_console.screens.resource import copy_path
from kata_console.sources.model import DeviceView
from widgets.facts_panel import line_spans
from widgets.key_footer import KeyFooter
from widgets.status_line import StatusLine

if TYPE_CHECKING:
    from kata_console.app import KataConsole


class DeviceScreen(ModalScreen[None]):
    """Every field of one device, the containers that hold it; y, D, Esc."""

    BINDINGS = [
        Binding("y", "copy_path", "Copy path", id="device.copy_path"),
        Binding("D", "describe", "Describe", id="device.describe"),
        Binding("escape,enter,q", "close", "Close", id="device.close"),
    ]

    DEFAULT_CSS = """
    DeviceScreen {
        align: center middle;
        & > VerticalScroll {
            width: 100;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
        & StatusLine { display: none; }
        & StatusLine.-said { display: block; }
    }
    """

    def __init__(self, sandbox_id: str, device: DeviceView, users: list[str]) -> None:
        """Args:
        sandbox_id: the sandbox whose device manager holds it.
        device: the device.
        users: ids of the sandbox's containers that hold it.
        """
        super().__init__()
        self.sandbox_id = sandbox_id
        self.device = device
        self.users = users

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = f"device {self.device.id} of {self.sandbox_id}"
            scroll.border_subtitle = "esc close"
            yield Static(device_facts(self.device, self.users), id="device-facts")
            yield StatusLine(id="device-status")
        yield KeyFooter()  # over the view's: its keys do not reach through the modal

    def action_copy_path(self) -> None:
        """The host path, as `y` on the device's row copies it."""
        if not self.device.host_path:
            self._say(f"device {self.device.id} has no host path to copy", "warning")
            return
        self._say(copy_path(self.app, "backing file", self.device.host_path))

    def action_describe(self) -> None:
        """The device's entry in the sandbox's persist.json, as `D` on its row opens it;
        Esc there goes back to the view under this modal."""
        kc = cast("KataConsole", self.app)
        self.app.pop_screen()
        kc.open_describe(("device", self.sandbox_id, self.device.id))

    def action_close(self) -> None:
        self.dismiss(None)

    def _say(self, message: str, level: str = "info") -> None:
        status = self.query_one(StatusLine)
        status.show(message, level)
        status.add_class("-said")


class BrokenAt:
    """A value broken into lines after a separator (`line_spans`), never inside a word:
    a Rich table's `fold` cut `snapshots` in two."""

    def __init__(self, text: Text, breaks: str = "/") -> None:
        self.text = text
        self.breaks = breaks

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for start, end in line_spans(self.text.plain, options.max_width, self.breaks):
            piece = self.text[start:end]
            piece.end = "\n"
            yield piece

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        plain = self.text.plain
        words = re.split(f"(?<=[{re.escape(self.breaks)}])| ", plain)
        least = max((cell_len(w) for w in words), default=0)
        return Measurement(min(least, options.max_width), cell_len(plain))


def device_facts(dev: DeviceView, users: list[str]) -> Table:
    """The device as a two-column table, the paths whole (broken after a `/`)."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("id", dev.id)
    table.add_row("host path", BrokenAt(Text(dev.host_path)))
    table.add_row("kind", dev.kind)
    table.add_row("refcount", str(dev.refcount))
    table.add_row("attach count", str(dev.attach_count))
    table.add_row("index", "-" if dev.index is None else str(dev.index))
    table.add_row("guest address", dev.address or "-")
    table.add_row("mode", "read-only" if dev.read_only else "read-write")
    if dev.host_side is not None:
        table.add_row("on the host", BrokenAt(Text(dev.host_side)))
    if dev.host_device is not None:
        table.add_row("host device", BrokenAt(Text(dev.host_device)))
    table.add_row("held by", ", ".join(users) if users else Text("no container", style="dim"))
    return table
