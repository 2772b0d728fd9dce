"""One sandbox: its containers, its device table (shared layers show refcount > 1), the
agent and hypervisor facts, and the sandbox's own log lines."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

from kata_console.screens.base import ConsoleScreen, op_bindings
from kata_console.sources.model import ContainerView, Operation, SandboxView, format_age
from widgets.device_table import DeviceTable
from widgets.link_table import LinkTable
from widgets.log_pane import LogPane
from widgets.process_table import ProcessTable
from widgets.resource_table import ResourceTable, Row
from widgets.state_badge import health_text, state_text

COLUMNS = (
    ("id", "container"),
    ("state", "state"),
    ("rootfs", "rootfs"),
    ("layers", "layers"),
    ("pid", "pid"),
    ("kata", "kata"),
)


def container_row(c: ContainerView) -> Row:
    verdict = Text("refused", style="bold red") if c.kata_error else Text("ok", style="green")
    if c.rootfs_kind != "erofs":
        verdict = Text("-", style="dim")
    return (
        c.id,
        state_text(c.state),
        c.rootfs_kind,
        str(c.layers),
        "-" if c.pid is None else str(c.pid),
        verdict,
    )


class SandboxScreen(ConsoleScreen):
    """Containers, devices and facts of one sandbox."""

    BINDINGS = [
        Binding("d", "focus_devices", "Devices", id="sandbox.devices"),
        Binding("m", "metrics", "Metrics", id="sandbox.metrics"),
        Binding("l", "focus_logs", "Logs", id="sandbox.logs"),
        *op_bindings("container", ("create", "start", "stop", "pause", "resume", "kill", "delete")),
    ]

    def __init__(self, sandbox_id: str) -> None:
        super().__init__()
        self.sandbox_id = sandbox_id
        self.crumbs = ("sandboxes", sandbox_id)

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="sandbox-top"):
            yield ResourceTable(COLUMNS, id="containers")
            yield Static(id="facts")
        yield DeviceTable(id="devices", host=getattr(self.kc.source, "inspects_host", False))
        yield ProcessTable(id="processes", classes="host-only")
        yield LinkTable(id="links", classes="host-only")
        yield LogPane(
            title=f"logs: {self.sandbox_id}",
            scope=lambda line: line.sandbox_id == self.sandbox_id,
            max_lines=self.kc.log_max_lines,
            cursor_blink=self.kc.cursor_blink,
        )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#containers", ResourceTable).border_title = "containers"
        self.query_one(DeviceTable).border_title = "devices"
        self.query_one(ProcessTable).border_title = "processes"
        for table in self.query(".host-only"):
            table.display = False
        if not getattr(self.kc.source, "has_logs", True):
            # a host has no engine log to show; its panels need the room at 80x24
            self.query_one(LogPane).display = False
        self.kc.attach_log_pane(self.query_one(LogPane))
        self.query_one("#containers").focus()

    @property
    def sandbox(self) -> SandboxView | None:
        return self.kc.sandbox(self.sandbox_id)

    def show_sandboxes(self, sandboxes: list[SandboxView]) -> None:
        sb = self.sandbox
        if sb is None:
            self.status(f"sandbox {self.sandbox_id} is gone", "warning")
            self.query_one("#containers", ResourceTable).apply({})
            return
        self.query_one("#containers", ResourceTable).apply(
            {c.id: container_row(c) for c in sb.containers}
        )
        self.query_one(DeviceTable).show(sb.devices)
        now = self.kc.source.now()
        self.query_one("#facts", Static).update(_facts(sb, now))
        # a source that inspects a host fills these; the others leave them hidden
        procs, links = self.query_one(ProcessTable), self.query_one(LinkTable)
        procs.display = bool(sb.processes) or sb.network is not None
        links.display = sb.network is not None
        procs.show(sb.processes, now)
        links.show(sb.network)
        if sb.network is not None:
            links.border_title = f"network {sb.network.netns or '-'}" + (
                f": {sb.network.error}" if sb.network.error else ""
            )

    def operation_for(self, op: str) -> Operation | None:
        key = self.query_one("#containers", ResourceTable).selected_key
        return Operation(f"{op}_container", self.sandbox_id, key) if key else None

    def action_focus_devices(self) -> None:
        self.query_one(DeviceTable).focus()

    def action_focus_logs(self) -> None:
        self.query_one(LogPane).view.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_logs":  # a host has no engine log: the pane is hidden there
            return bool(self.query_one(LogPane).display)
        if action == "metrics":  # only a source that reaches shims can ask one
            return hasattr(self.kc.source, "metrics")  # elsewhere: not in the footer at all
        return super().check_action(action, parameters)

    @work(exclusive=True, group="metrics", exit_on_error=False)
    async def action_metrics(self) -> None:
        """GET /metrics of this sandbox's shim (it asks the guest: only when asked)."""
        ask = getattr(self.kc.source, "metrics", None)
        if ask is None:
            return
        self.status(f"asking the shim of {self.sandbox_id} for its metrics…")
        try:
            done = await ask(self.sandbox_id)
        except Exception as exc:  # one line in the status, never a traceback
            self.status(str(exc), "error")
            return
        self.status(done)
        self.kc.reload()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.data_table.id == "containers":
            self.kc.open_container(self.sandbox_id, str(event.row_key.value))
        elif isinstance(event.data_table, DeviceTable) and self.sandbox is not None:
            self.kc.open_device(self.sandbox, str(event.row_key.value))


def _facts(sb: SandboxView, now: object) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("state", state_text(sb.state))
    for error in sb.errors:  # first: what could not be read is why the rest looks odd
        table.add_row(Text("error", style="bold red"), Text(error, style="red"))
    table.add_row("agent", health_text(sb.agent_health))
    table.add_row("hypervisor", sb.hypervisor)
    table.add_row("age", format_age(sb.created, now))  # type: ignore[arg-type]
    for key, value in sb.facts:
        table.add_row(key, value)
    return table
