"""One sandbox: its containers, its device table (shared layers show refcount > 1), the
agent and hypervisor facts, and the sandbox's own log lines.

Layout by size (classes from `ConsoleScreen`'s breakpoints, rules in app.tcss): the facts
sit beside the containers in a tall, wide terminal and flow as a strip above them when it
is narrow or short. Below 40 rows only one of the devices / processes / network panes is
unfolded (devices first, then whichever gets focus: `d`, `p`, Tab or a click), the others
fold to their title line, and the logs take what is left: 80x24 fits without scrolling.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widget import Widget
from textual.widgets import DataTable

from kata_console.engine.doctor import Finding
from kata_console.exports import sandbox_dict
from kata_console.screens.base import MUTATING_ACTIONS, NARROW_BELOW, SHORT_BELOW, op_bindings
from kata_console.screens.resource import (
    ResourceScreen,
    gone_level,
    host_sandbox,
    sandbox_path,
)
from kata_console.sources.model import ContainerView, Operation, SandboxView, format_age
from kata_console.sources.rawdocs import Target
from widgets.device_table import DeviceTable, vm_only_rows
from widgets.facts_panel import Facts, FactsPanel
from widgets.findings_table import SEVERITY_STYLE
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
    ("exit", "exit"),
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
        Text(c.exit, style="bold") if c.exit else Text("-", style="dim"),
    )


class SandboxScreen(ResourceScreen):
    """Containers, devices and facts of one sandbox."""

    BINDINGS = [
        Binding("d", "focus_devices", "Devices", id="sandbox.devices"),
        Binding("m", "metrics", "Metrics", id="sandbox.metrics"),
        Binding("p", "focus_processes", "Processes", id="sandbox.processes"),
        Binding("l", "focus_logs", "Logs", id="sandbox.logs"),
        # they act on the selected container, not on the sandbox the screen is titled by
        *op_bindings(
            "container",
            ("create", "start", "stop", "pause", "resume", "kill", "delete"),
            noun="container",
            short="ctr",
        ),
    ]

    def __init__(self, sandbox_id: str) -> None:
        super().__init__()
        self.sandbox_id = sandbox_id
        self.crumbs = ("sandboxes", sandbox_id)
        #: the sandbox was there and is not any more (deleted): the view says so
        self.gone = False
        self._seen = False
        self._short = False
        self._unfolded: Widget | None = None
        #: whether `c` was offered when the footer was last refreshed
        self._create_offered: bool | None = None

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="sandbox-top"):
            containers = ResourceTable(COLUMNS, id="containers")
            containers.noun = "containers"
            yield containers
            yield FactsPanel(id="facts")
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
        self._unfold(self.query_one(DeviceTable))
        self.query_one("#containers").focus()

    @property
    def sandbox(self) -> SandboxView | None:
        return self.kc.sandbox(self.sandbox_id)

    def show_sandboxes(self, sandboxes: list[SandboxView]) -> None:
        sb = self.sandbox
        if sb is None:
            self._show_gone()
            return
        self._seen = True
        if self.gone:  # created again under the same id
            self.gone = False
            self.query_one("#containers", ResourceTable).border_title = "containers"
            self.refresh_bindings()
        self.query_one("#containers", ResourceTable).apply(
            {c.id: container_row(c) for c in sb.containers}
        )
        self.query_one(DeviceTable).show([*sb.devices, *vm_only_rows(sb.vm_only)])
        self._offer_create()
        now = self.kc.source.now()
        found = getattr(self.kc.source, "findings", None) or []
        mine = [f for f in found if f.sandbox == self.sandbox_id]
        self.query_one("#facts", FactsPanel).update(_facts(sb, now, mine))
        # a source that inspects a host fills these; the others leave them hidden
        procs, links = self.query_one(ProcessTable), self.query_one(LinkTable)
        shown = bool(sb.processes) or sb.network is not None
        if procs.display != shown:
            procs.display = shown
            self.refresh_bindings()  # `p` is only offered where there are processes
        links.display = sb.network is not None
        procs.show(sb.processes, now)
        links.show(sb.network)
        if sb.network is not None:
            recorded = " (recorded)" if "network" in sb.recorded else ""
            links.border_title = f"network {sb.network.netns or '-'}{recorded}" + (
                f": {sb.network.error}" if sb.network.error else ""
            )

    def _selected_container(self) -> ContainerView | None:
        tables = self.query("#containers").results(ResourceTable)
        table = next(tables, None)  # none yet while the screen is composed
        key = table.selected_key if table is not None else None
        sb = self.sandbox if key is not None else None
        return sb.container(key) if sb is not None and key is not None else None

    def _creatable(self) -> bool:
        """`c` applies only to a row the engine holds no container for (its create
        failed): for one that exists it could only fail with `already exists`."""
        c = self._selected_container()
        return c is None or not c.state

    def _offer_create(self) -> None:
        """The footer follows the selection: `c` comes and goes with the row."""
        offered = self._creatable()
        if offered != self._create_offered:
            self._create_offered = offered
            self.refresh_bindings()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "containers":
            self._offer_create()

    def operation_for(self, op: str) -> Operation | None:
        key = self.query_one("#containers", ResourceTable).selected_key
        return Operation(f"{op}_container", self.sandbox_id, key) if key else None

    def describe_target(self) -> Target | None:
        """The selected container or device when its table has focus, else the sandbox."""
        focused = self.focused
        key = focused.selected_key if isinstance(focused, ResourceTable) else None
        if key is not None and focused is self.query_one("#containers"):
            return ("container", self.sandbox_id, key)
        if key is not None and isinstance(focused, DeviceTable):
            return ("device", self.sandbox_id, key)
        return ("sandbox", self.sandbox_id)

    def selected_path(self) -> tuple[str, str] | None:
        sb = self.sandbox
        focused = self.focused
        key = focused.selected_key if isinstance(focused, ResourceTable) else None
        if sb is not None and key is not None and focused is self.query_one("#containers"):
            c = sb.container(key)
            return ("rootfs mountpoint", c.chain.target) if c and c.chain else None
        if sb is not None and key is not None and isinstance(focused, DeviceTable):
            dev = next((d for d in sb.devices if d.id == key), None)
            return ("backing file", dev.host_path) if dev and dev.host_path else None
        return sandbox_path(sb)

    def export_data(self) -> tuple[str, str, Any] | None:
        report = host_sandbox(self.kc.source, self.sandbox_id)
        if report is not None:
            return (
                f"sandbox {self.sandbox_id} (inspect --json)",
                self.sandbox_id,
                report.to_dict(),
            )
        sb = self.sandbox
        return (f"sandbox {sb.id}", sb.id, sandbox_dict(sb)) if sb is not None else None

    def action_focus_devices(self) -> None:
        self.query_one(DeviceTable).focus()

    def action_focus_processes(self) -> None:
        self.query_one(ProcessTable).focus()

    def action_focus_logs(self) -> None:
        self.query_one(LogPane).view.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_logs":  # a host has no engine log: the pane is hidden there
            panes = self.query(LogPane)  # none while the screen composes or goes away
            return bool(panes) and bool(panes.first().display)
        if self.gone and (action in MUTATING_ACTIONS or action == "metrics"):
            return False  # nothing left to act on: not offered
        if action == "op_create" and not self._creatable():
            return False  # the selected container exists: create is not offered
        if action == "metrics":  # only a source that reaches shims can ask one (not a
            # recording): elsewhere not in the footer at all
            source = self.kc.source
            return hasattr(source, "metrics") and getattr(source, "asks_shims", True)
        if action == "focus_processes":  # only where the host's processes are shown
            procs = self.query(ProcessTable)
            return bool(procs) and bool(procs.first().display)
        return super().check_action(action, parameters)

    def _show_gone(self) -> None:
        """The sandbox was deleted (or never loaded): say so in the view itself, once in
        the status line, and offer only what still applies (its logs, going back)."""
        if self.gone:
            return
        self.gone = True
        what = "was deleted" if self._seen else "does not exist"
        containers = self.query_one("#containers", ResourceTable)
        containers.apply({})
        containers.border_title = "containers (none: the sandbox is gone)"
        self.query_one(DeviceTable).show([])
        for table in self.query(".host-only"):
            table.display = False
        gone = Facts()
        gone.add_row("state", Text("● deleted", style="dim strike"))
        gone.add_row("", Text(f"sandbox {self.sandbox_id} {what}; its logs stay below"))
        self.query_one("#facts", FactsPanel).update(gone)
        self.status(f"sandbox {self.sandbox_id} {what}", gone_level(self.kc, self.sandbox_id))
        self.refresh_bindings()

    # ------------------------------------------------------------------ layout

    def on_resize(self, event: events.Resize) -> None:
        """Narrow or short: the facts flow as a strip above the containers (app.tcss)."""
        narrow, short = event.size.width < NARROW_BELOW, event.size.height < SHORT_BELOW
        self.query_one(FactsPanel).strip = narrow or short
        self._short = short
        self._fold()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """The pane of devices, processes or network that gets focus is the one unfolded
        when the view is short."""
        pane = next(
            (node for node in event.widget.ancestors_with_self if node in self._lower()),
            None,
        )
        if isinstance(pane, Widget):
            self._unfold(pane)

    def _lower(self) -> list[Widget]:
        return [self.query_one(DeviceTable), *self.query(".host-only")]

    def _unfold(self, pane: Widget) -> None:
        self._unfolded = pane
        self._fold()

    def _fold(self) -> None:
        """Short: every lower pane but the chosen one shows its title line only; tall:
        none is folded (the class is only there while it is true)."""
        for pane in self._lower():
            pane.set_class(self._short and pane is not self._unfolded, "-folded")

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


def _facts(sb: SandboxView, now: object, findings: list[Finding] | None = None) -> Facts:
    table = Facts()
    table.add_row("state", state_text(sb.state))
    # a finding whose evidence is one of the file errors (a torn persist.json) says the
    # same thing again: the error row names its rule instead, once
    told: dict[str, list[str]] = {e: [] for e in sb.errors}
    rest = []
    for f in findings or ():
        same = next((e for e in sb.errors if e in f.evidence), None)
        if same is None:
            rest.append(f)
        else:
            told[same].append(f.id)
    for error, rules in told.items():  # first: what could not be read is why the rest
        # looks odd
        named = f" ({', '.join(rules)})" if rules else ""
        table.add_row(Text("error", style="bold red"), Text(error + named, style="red"))
    for f in rest:  # doctor's, on this sandbox (F lists them with the evidence)
        style = SEVERITY_STYLE.get(f.severity, "")
        where = f"{f.container}: " if f.container else ""
        table.add_row(Text(f.severity, style=style), Text(f"{where}{f.title} ({f.id})"))
    table.add_row("agent", health_text(sb.agent_health))
    table.add_row("hypervisor", sb.hypervisor)
    table.add_row("age", format_age(sb.created, now))  # type: ignore[arg-type]
    for key, value in sb.facts:
        table.add_row(key, value)
    return table
