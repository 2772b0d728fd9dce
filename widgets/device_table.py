"""A sandbox's device manager table: id, host path, kind, refcount, attach count, index,
guest address. Shared layers show refcount > 1, which is the point of showing it. On a VM
that gives its own account (QEMU's query-block) each address is checked against it: green
where QEMU agrees, red where it does not list the device, and a red `VM only` row for a
disk attached in QEMU that no engine device accounts for.

Host paths get the width the table has left once the other columns are laid out: whole at
200 columns, their tail (`…/snapshots/2/layer.erofs`) when the terminal is narrower. A
resize lays the paths out again.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import events

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
#: widths used before the table knows its own (first layout)
DEFAULT_PATH, DEFAULT_SIDE = 44, 30
#: a width no path reaches (paths left whole)
WHOLE = 1 << 16


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
    dev: DeviceView,
    highlight: frozenset[str] = frozenset(),
    host: bool = False,
    widths: tuple[int, int] = (DEFAULT_PATH, DEFAULT_SIDE),
) -> tuple[str | Text, ...]:
    """One row; devices of the current container (`highlight`) are bold; `widths` are
    those of the host path and of the host's side (`path_widths`)."""
    style = "bold" if dev.id in highlight else ""
    if dev.kind == VM_ONLY:
        style = "bold red"
    refs = Text(str(dev.refcount), style="bold yellow" if dev.refcount > 1 else "")
    row: tuple[str | Text, ...] = (
        Text(dev.id, style=style),
        Text(shorten_path(dev.host_path, widths[0]), style=style),
        Text(dev.kind, style="bold red") if dev.kind == VM_ONLY else dev.kind,
        refs,
        str(dev.attach_count),
        "-" if dev.index is None else str(dev.index),
        address_cell(dev),
        "ro" if dev.read_only else "rw",
    )
    if host:  # the host's side of the same backing file (sources that inspect a host)
        side = "-" if dev.host_side is None else shorten_path(dev.host_side, widths[1])
        row += (Text(side, style="dim"),)
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


def path_widths(
    rows: list[tuple[str | Text, ...]],
    columns: tuple[tuple[str, str], ...],
    room: int,
    padding: int = 1,
) -> tuple[int, int]:
    """(host path, host side) widths that fit `room` cells next to the other columns.

    `rows` hold the paths whole; each column takes its widest cell or label plus `padding`
    on both sides. Paths that fit are left whole; otherwise the host's side (a secondary
    column) gets up to two fifths of what is left and the host path the rest, neither
    below `MIN_PATH`.
    """
    widths = [
        max([cell_len(label)] + [cell_len(_plain(row[i])) for row in rows])
        for i, (_, label) in enumerate(columns)
    ]
    keys = [key for key, _ in columns]
    paths = [keys.index(key) for key in PATH_COLUMNS if key in keys]
    fixed = sum(w + 2 * padding for i, w in enumerate(widths) if i not in paths)
    free = room - fixed - 2 * padding * len(paths)
    natural = [widths[i] for i in paths] + [DEFAULT_SIDE]
    if len(paths) == 1:
        return (natural[0] if natural[0] <= free else max(MIN_PATH, free)), DEFAULT_SIDE
    if natural[0] + natural[1] <= free:
        return natural[0], natural[1]
    side = max(MIN_PATH, min(natural[1], free * 2 // 5))
    return max(MIN_PATH, min(natural[0], free - side)), side


def _plain(cell: str | Text) -> str:
    return cell.plain if isinstance(cell, Text) else cell


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
        self._shown: tuple[list[DeviceView], frozenset[str]] = ([], frozenset())

    def show(self, devices: list[DeviceView], highlight: list[str] | None = None) -> int:
        """Show these devices; returns rows touched."""
        marked = frozenset(highlight or ())
        self._shown = (list(devices), marked)
        widths = self._path_widths(devices)
        return self.apply({d.id: device_row(d, marked, self._host, widths) for d in devices})

    def on_resize(self, event: events.Resize) -> None:
        self._lay_out_again()

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        """A scrollbar takes two columns from the paths."""
        self._lay_out_again()

    def _lay_out_again(self) -> None:
        devices, marked = self._shown
        if devices:
            self.show(devices, list(marked))

    def _path_widths(self, devices: list[DeviceView]) -> tuple[int, int]:
        room = self.scrollable_content_region.width
        if room <= 0:  # not laid out yet: the first resize lays the paths out again
            return DEFAULT_PATH, DEFAULT_SIDE
        rows = [device_row(d, host=self._host, widths=(WHOLE, WHOLE)) for d in devices]
        return path_widths(rows, self._columns, room, self.cell_padding)
