"""A sandbox's device manager table: id, host path, kind, refcount, attach count, index,
guest address. Shared layers show refcount > 1, which is the point of showing it. On a VM
that gives its own account (QEMU's query-block) each address is checked against it: green
where QEMU agrees, red where it does not list the device, and a red `VM only` row for a
disk attached in QEMU that no engine device accounts for.

Host paths get the width the table has left once the other columns are laid out: whole at
200 columns, their tail (`…/snapshots/2/layer.erofs`) when the terminal is narrower; at 80
columns the mode, index and attach count make room for them (the device's own view has
them). A resize lays the paths out again.
"""

from __future__ import annotations

from rich.text import Text

from kata_console.sources.model import DeviceView
from widgets.resource_table import ResourceTable

COLUMNS = (
    ("id", "id"),
    ("host_path", "host path"),
    ("kind", "kind"),
    ("refs", "refs"),
    ("attached", "attach"),
    ("index", "index"),
    ("address", "addr"),
    ("mode", "mode"),
)
HOST_COLUMN = ("host", "on the host")
#: the columns that hold paths (shortened to fit); the others are shown whole
PATH_COLUMNS = ("host_path", "host")
#: a path is never cut shorter than this: `…/2/layer.erofs` still tells layers apart
MIN_PATH = 16


def shorten_path(path: str, width: int = 44) -> str:
    """The tail of a long path in `width` cells (`…/snapshots/2/layer.erofs`): the end
    identifies the layer, the containerd prefix is the same on every row (the chain tree
    and the device's view show it whole). The cut is moved to a `/` when one is close."""
    if len(path) <= width:
        return path
    if width <= 1:
        return "…"
    tail = path[-(width - 1) :]
    slash = tail.find("/")
    if 0 < slash <= 3:
        tail = tail[slash:]
    return f"…{tail}"


def device_row(
    dev: DeviceView, highlight: frozenset[str] = frozenset(), host: bool = False
) -> tuple[str | Text, ...]:
    """One row, paths whole (the table shortens them to its width); devices of the current
    container (`highlight`) are bold."""
    style = "bold" if dev.id in highlight else ""
    if dev.kind == VM_ONLY:
        style = "bold red"
    refs = Text(str(dev.refcount), style="bold yellow" if dev.refcount > 1 else "")
    row: tuple[str | Text, ...] = (
        Text(dev.id, style=style),
        Text(dev.host_path, style=style),
        Text(dev.kind, style="bold red") if dev.kind == VM_ONLY else dev.kind,
        refs,
        str(dev.attach_count),
        "-" if dev.index is None else str(dev.index),
        address_cell(dev),
        "ro" if dev.read_only else "rw",
    )
    if host:  # the host's side of the same backing file (sources that inspect a host)
        row += (Text(dev.host_side or "-", style="dim"),)
    return row


#: the kind of a row for a disk the VM has and no engine device accounts for
VM_ONLY = "VM only"


def address_cell(dev: DeviceView) -> str | Text:
    """The guest address, checked against the VM's own account when it has one (QEMU's
    query-block): a device the engine holds plugged that QEMU does not list, or lists
    elsewhere, is red."""
    address = dev.address or "-"
    if dev.vm is None or dev.kind == VM_ONLY:
        return address
    if dev.vm == "":
        return Text(f"{address} ✗ not in VM", style="bold red")
    if dev.vm != address:
        return Text(f"{address} ≠ VM {dev.vm}", style="bold red")
    return Text(address, style="green")


def vm_only_rows(nodes: list[dict[str, object]] | None) -> list[DeviceView]:
    """Rows for the disks the VM lists that no engine device accounts for."""
    return [
        DeviceView(
            id=str(n.get("node") or "?"),
            host_path=str(n.get("file") or ""),
            kind=VM_ONLY,
            refcount=0,
            attach_count=0,
            address=str(n.get("address") or "") or None,
            read_only=bool(n.get("read_only")),
        )
        for n in nodes or ()
    ]


class DeviceTable(ResourceTable):
    """The devices of one sandbox; `show(devices, highlight)` refreshes it in place."""

    noun = "devices"
    #: left out first at 80 columns: the mode, the index and the attach count are on the
    #: device's own view; the host path and the address are what a row is read for
    optional = ("mode", "attached", "index", "kind")
    elastic = {"host_path": MIN_PATH, "host": MIN_PATH}

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

    def shorten(self, column: str, cell: str | Text, width: int) -> str | Text:
        """A path keeps its tail (`…/snapshots/2/layer.erofs`)."""
        if column not in PATH_COLUMNS or not isinstance(cell, Text):
            return super().shorten(column, cell, width)
        return Text(shorten_path(cell.plain, width), style=cell.style)

    def share(self, free: int, wants: dict[str, tuple[int, int]]) -> dict[str, int]:
        """The host's side (a secondary column) gets up to two fifths of what is left, the
        host path the rest."""
        if len(wants) < 2:
            return {key: max(low, free) for key, (low, _) in wants.items()}
        (least, path), (low, side) = wants["host_path"], wants["host"]
        side = max(low, min(side, free * 2 // 5))
        return {"host_path": max(least, min(path, free - side)), "host": side}
