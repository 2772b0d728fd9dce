"""One container: state, rootfs, the mount chain down to each backing file with Kata's
verdict, the devices it holds, and its live logs (engine events + its stdout)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from kata_console.chaintext import verdict_text
from kata_console.exports import container_dict
from kata_console.screens.base import MUTATING_ACTIONS, op_bindings
from kata_console.screens.resource import ResourceScreen, gone_level
from kata_console.sources.model import ContainerView, Operation, SandboxView
from kata_console.sources.rawdocs import Target
from widgets.chain_tree import ChainTree
from widgets.device_table import DeviceTable
from widgets.log_pane import LogPane
from widgets.state_badge import state_text

#: the tree has shown no chain yet (not even "none")
_NOTHING_SHOWN = object()


class ContainerScreen(ResourceScreen):
    """Everything about one container."""

    BINDINGS = [
        Binding("tab", "app.focus_next", "Next pane", id="container.next", show=False),
        Binding("o", "focus_chain", "Chain", id="container.chain", show=False),
        Binding("l", "focus_logs", "Logs", id="container.logs"),
        Binding("d", "focus_devices", "Devices", id="container.devices", show=False),
        *op_bindings("container", ("create", "start", "stop", "pause", "resume", "kill", "delete")),
    ]

    def __init__(self, sandbox_id: str, container_id: str) -> None:
        super().__init__()
        self.sandbox_id = sandbox_id
        self.container_id = container_id
        self.crumbs = ("sandboxes", sandbox_id, container_id)
        #: what the tree shows (a fresh inspection's chain is a new object): none yet
        self._shown_chain: object = _NOTHING_SHOWN
        self._shown_note: str | None = None
        #: the container (or its sandbox) was there and is not any more: the view says so
        self.gone = False
        self._seen = False
        #: the engine holds the container (it has a state): `c` is not offered then
        self._exists: bool | None = None

    def compose_body(self) -> ComposeResult:
        yield Static(id="container-info")
        yield ChainTree(id="chain")
        yield DeviceTable(id="container-devices")
        yield LogPane(
            title=f"logs: {self.container_id}",
            scope=self._in_scope,
            max_lines=self.kc.log_max_lines,
            cursor_blink=self.kc.cursor_blink,
            id="container-logs",
        )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(ChainTree).border_title = "rootfs chain"
        self.query_one(DeviceTable).border_title = "devices"
        self.kc.attach_log_pane(self.query_one(LogPane))
        self.query_one(ChainTree).focus()

    def show_sandboxes(self, sandboxes: list[SandboxView]) -> None:
        sb = self.kc.sandbox(self.sandbox_id)
        c = sb.container(self.container_id) if sb else None
        if sb is None or c is None:
            self._show_gone(sb is None)
            return
        self._seen = True
        if self.gone:  # created again under the same id
            self.gone = False
            self.query_one(ChainTree).border_title = "rootfs chain"
            self.refresh_bindings()
        if bool(c.state) != self._exists:  # created (or back to never created): `c` follows
            self._exists = bool(c.state)
            self.refresh_bindings()
        note = chain_note(self.kc.source, sb.id, c.id) if c.chain is None else None
        self.query_one("#container-info", Static).update(_info(sb, c, note))
        if c.chain is not self._shown_chain or note != self._shown_note:
            self._shown_chain, self._shown_note = c.chain, note
            tree = self.query_one(ChainTree)
            tree.show_chains(
                [c.chain] if c.chain else [],
                # the whole note is above it, where it wraps: the tree's line does not
                empty="no mount on the host: the guest mounts this rootfs"
                if note
                else "no rootfs chain for this container",
            )
        mine = [d for d in sb.devices if d.id in c.devices]
        self.query_one(DeviceTable).show(mine, c.devices)

    def operation_for(self, op: str) -> Operation | None:
        return Operation(f"{op}_container", self.sandbox_id, self.container_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.gone and action in MUTATING_ACTIONS:
            return False  # nothing left to act on: not offered
        c = self.container if action == "op_create" else None
        if c is not None and c.state:
            return False  # it exists: a create could only fail with `already exists`
        return super().check_action(action, parameters)

    def _show_gone(self, sandbox_gone: bool) -> None:
        """Deleted (or its sandbox was): the view says so, once in the status line too, and
        offers only what still applies (the logs, the chain as it was last seen, back)."""
        if self.gone:
            return
        self.gone = True
        what = "was deleted" if self._seen else "does not exist"
        why = f"its sandbox {self.sandbox_id} {what}" if sandbox_gone else what
        info = Text.assemble(
            ("state ", "bold"),
            ("● deleted", "dim strike"),
            f"  container {self.sandbox_id}/{self.container_id}: {why}",
        )
        self.query_one("#container-info", Static).update(info)
        self.query_one(ChainTree).border_title = "rootfs chain (as last seen)"
        self.query_one(DeviceTable).show([], [])
        level = gone_level(self.kc, self.sandbox_id, self.container_id)
        self.status(f"container {self.sandbox_id}/{self.container_id}: {why}", level)
        self.refresh_bindings()

    @property
    def container(self) -> ContainerView | None:
        sb = self.kc.sandbox(self.sandbox_id)
        return sb.container(self.container_id) if sb else None

    def describe_target(self) -> Target | None:
        """The selected device when the device table has focus, else the container."""
        devices = self.query_one(DeviceTable)
        if self.focused is devices and devices.selected_key is not None:
            return ("device", self.sandbox_id, devices.selected_key)
        return ("container", self.sandbox_id, self.container_id)

    def selected_path(self) -> tuple[str, str] | None:
        devices, tree = self.query_one(DeviceTable), self.query_one(ChainTree)
        if self.focused is tree:
            return tree.selected_path()
        sb = self.kc.sandbox(self.sandbox_id)
        if self.focused is devices and devices.selected_key is not None and sb is not None:
            dev = next((d for d in sb.devices if d.id == devices.selected_key), None)
            return ("backing file", dev.host_path) if dev and dev.host_path else None
        c = self.container
        return ("rootfs mountpoint", c.chain.target) if c and c.chain else None

    def export_data(self) -> tuple[str, str, Any] | None:
        """The container's chain as `chains --json` has it (the container without one)."""
        c = self.container
        if c is None:
            return None
        if c.chain is not None:
            what = f"the rootfs chain of {c.id} (a chains --json entry)"
            return (what, f"chain-{c.id}", c.chain.to_dict())
        return (f"container {c.id}", c.id, container_dict(c))

    def action_focus_chain(self) -> None:
        self.query_one(ChainTree).focus()

    def action_focus_logs(self) -> None:
        self.query_one(LogPane).view.focus()

    def action_focus_devices(self) -> None:
        self.query_one(DeviceTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        sb = self.kc.sandbox(self.sandbox_id)
        if isinstance(event.data_table, DeviceTable) and sb is not None:
            self.kc.open_device(sb, str(event.row_key.value))

    def _in_scope(self, line: object) -> bool:
        return (
            getattr(line, "container_id", None) == self.container_id
            and getattr(line, "sandbox_id", None) == self.sandbox_id
        )


def chain_note(source: object, sandbox_id: str, container_id: str) -> str | None:
    """Why a host's container has no chain, as `inspect` says it (`chain_note`: an EROFS
    rootfs is mounted in the guest, not on the host). None from a source that does not
    inspect a host, or when the inspection has no such note."""
    report = getattr(source, "report", None)
    for sandbox in getattr(report, "sandboxes", None) or ():
        if sandbox.id != sandbox_id:
            continue
        for container in sandbox.containers:
            if container.id == container_id:
                return getattr(container, "chain_note", None)
    return None


def _info(sb: SandboxView, c: ContainerView, note: str | None = None) -> Table:
    grid = Table.grid(padding=(0, 2))
    for _ in range(4):
        grid.add_column(no_wrap=True)
    rootfs = Text(c.rootfs_kind, style="bold")
    rootfs.append(f"  {c.layers} layer(s)", style="")
    grid.add_row(
        Text("state ", style="bold") + state_text(c.state),
        Text("sandbox ", style="bold") + Text(sb.id),
        Text("rootfs ", style="bold") + rootfs,
        Text("pid ", style="bold") + Text("-" if c.pid is None else str(c.pid)),
    )
    if c.exit:  # killed (or ended): how, as WaitProcess reported it
        grid.add_row(Text("exit ", style="bold") + Text(c.exit, style="bold"), "", "", "")
    if c.chain is not None:
        verdict = verdict_text(c.chain)
    elif note:  # no chain on the host, and that is how Kata works: not a fault
        verdict = Text.assemble(("rootfs chain: ", "bold"), (note, "italic"))
    else:
        verdict = Text("kata: no rootfs chain", style="dim")
    info = Table.grid()
    info.add_column(overflow="fold")
    info.add_row(grid)
    info.add_row(verdict)
    return info
