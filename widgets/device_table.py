"""A sandbox's device manager table: id, host path, kind, refcount, attach count, index,
guest address. Shared layers show refcount > 1, which is the point of showing it."""

from __future__ import annotations

from rich.text import Text

from kata_console.sources.model import DeviceView
from widgets.resource_table import ResourceTable

COLUMNS = (
    ("id", "id"),
    ("host_path", "host path"),
    ("kind", "kind"),
    ("refs", "refs"),
    ("attached", "attached"),
    ("index", "index"),
    ("address", "address"),
    ("mode", "mode"),
)
HOST_COLUMN = ("host", "on the host")


def shorten_path(path: str, width: int = 44) -> str:
    """Keep the tail of a long path (`…/snapshots/2/layer.erofs`): the end identifies the
    layer, the containerd prefix is the same on every row (the chain tree shows it whole)."""
    if len(path) <= width:
        return path
    parts = path.split("/")
    tail = parts[-1]
    for part in reversed(parts[:-1]):
        if len(part) + len(tail) + 3 > width:
            break
        tail = f"{part}/{tail}"
    return f"…/{tail}"


def device_row(
    dev: DeviceView, highlight: frozenset[str] = frozenset(), host: bool = False
) -> tuple[str | Text, ...]:
    """One row; devices of the current container (`highlight`) are bold."""
    style = "bold" if dev.id in highlight else ""
    refs = Text(str(dev.refcount), style="bold yellow" if dev.refcount > 1 else "")
    row: tuple[str | Text, ...] = (
        Text(dev.id, style=style),
        Text(shorten_path(dev.host_path), style=style),
        dev.kind,
        refs,
        str(dev.attach_count),
        "-" if dev.index is None else str(dev.index),
        dev.address or "-",
        "ro" if dev.read_only else "rw",
    )
    if host:  # the host's side of the same backing file (sources that inspect a host)
        side = "-" if dev.host_side is None else shorten_path(dev.host_side, 30)
        row += (Text(side, style="dim"),)
    return row


class DeviceTable(ResourceTable):
    """The devices of one sandbox; `show(devices, highlight)` refreshes it in place."""

    noun = "devices"

    DEFAULT_CSS = """
    DeviceTable {
        height: auto;
        max-height: 12;
    }
    """

    def __init__(
        self, *, id: str | None = None, classes: str | None = None, host: bool = False
    ) -> None:
        """Args:
        host: add the column of what the host shows for each backing file.
        """
        super().__init__((*COLUMNS, HOST_COLUMN) if host else COLUMNS, id=id, classes=classes)
        self._host = host

    def show(self, devices: list[DeviceView], highlight: list[str] | None = None) -> int:
        """Show these devices; returns rows touched."""
        marked = frozenset(highlight or ())
        return self.apply({d.id: device_row(d, marked, self._host) for d in devices})
