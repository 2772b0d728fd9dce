"""One device of a sandbox, whole: the device table cuts the host path to its tail and
has no room for which containers hold the device; Enter on its row shows both here."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from kata_console.sources.model import DeviceView


class DeviceScreen(ModalScreen[None]):
    """Every field of one device, the containers that hold it, Esc to close."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close", id="device.close")]

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

    def action_close(self) -> None:
        self.dismiss(None)


def device_facts(dev: DeviceView, users: list[str]) -> Table:
    """The device as a two-column table, the host path whole (it folds, never cut)."""
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("id", dev.id)
    table.add_row("host path", Text(dev.host_path))
    table.add_row("kind", dev.kind)
    table.add_row("refcount", str(dev.refcount))
    table.add_row("attach count", str(dev.attach_count))
    table.add_row("index", "-" if dev.index is None else str(dev.index))
    table.add_row("guest address", dev.address or "-")
    table.add_row("mode", "read-only" if dev.read_only else "read-write")
    if dev.host_side is not None:
        table.add_row("on the host", Text(dev.host_side))
    table.add_row("held by", ", ".join(users) if users else Text("no container", style="dim"))
    return table
