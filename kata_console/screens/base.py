"""What every console view shares: breadcrumb, status line, footer, and the global keys.

Mutating actions are declared here once (`MUTATING_ACTIONS`), so `check_action` can dim
them in the footer on a read-only source and the help screen can say why. Screens only
name which resource an action applies to (`operation_for`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding

from kata_console.engine.doctor import severity_counts
from kata_console.keymap import typed_by_focus
from kata_console.screens.filtering import FilterHandling
from kata_console.sources.model import Operation, SandboxView, findings_scope
from widgets.breadcrumb import Breadcrumb
from widgets.filter_prompt import FilterPrompt
from widgets.host_bar import HostBar
from widgets.key_footer import KeyFooter
from widgets.status_line import StatusLine

if TYPE_CHECKING:
    from kata_console.app import KataConsole

#: action name -> lifecycle op suffix; the screen decides sandbox vs container
MUTATING_ACTIONS: dict[str, str] = {
    "op_create": "create",
    "op_start": "start",
    "op_stop": "stop",
    "op_pause": "pause",
    "op_resume": "resume",
    "op_kill": "kill",
    "op_delete": "delete",
}


#: below this many columns a view takes its narrow layout (class `-narrow`)
NARROW_BELOW = 100
#: below this many rows a view takes its short layout (class `-short`)
SHORT_BELOW = 40


def op_bindings(scope: str, ops: tuple[str, ...], noun: str = "", short: str = "") -> list[Binding]:
    """The lifecycle keys for a screen (`scope` prefixes the binding ids for keymaps).

    `noun`: what the keys act on when the screen is titled by something else (the
    sandbox screen's keys act on the selected container): the footer's label then names
    it by `short` (`Stop ctr`, so the row still fits 80 columns) and `?` says it whole
    (the binding's tooltip, also the footer's hover text). Without it the label is the
    verb alone: the screen's own title says what it acts on.
    """
    tag = f" {short or noun}" if noun else ""
    labels = {
        "create": ("c", "Create", True),
        "start": ("s", "Start", True),
        "stop": ("x", "Stop", True),
        "pause": ("u", "Pause", False),
        "resume": ("r", "Resume", False),
        "kill": ("k", "Kill", False),
        "delete": ("ctrl+d", "Delete", True),
    }
    out = []
    for op in ops:
        key, verb, show = labels[op]
        out.append(
            Binding(
                key,
                f"op_{op}",
                verb + tag,
                show=show,
                id=f"{scope}.{op}",
                tooltip=f"{verb} the selected {noun}" if noun else "",
            )
        )
    return out


class ConsoleScreen(FilterHandling):
    """Base of the console's views: breadcrumb on top, status line and footer below."""

    #: classes the compact layouts of app.tcss key on: `-narrow` below NARROW_BELOW
    #: columns (side panels move above the tables), `-short` below SHORT_BELOW rows
    #: (secondary panes fold or shrink so the view fits 80x24 without scrolling)
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (NARROW_BELOW, "-wide"),
    ]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-short"),
        (SHORT_BELOW, "-tall"),
    ]

    BINDINGS: ClassVar[list[Binding]] = [
        Binding("escape", "back", "Back", id="nav.back"),
        Binding("colon", "jump", "Jump", id="nav.jump", key_display=":"),
        Binding("question_mark", "help", "Help", id="nav.help", key_display="?"),
        Binding("ctrl+r", "reload", "Refresh", id="nav.reload", show=False),
        Binding("L", "logs", "All logs", id="nav.logs", show=False),
        Binding("C", "chains", "Chains", id="nav.chains", show=False),
        Binding("F", "findings", "Findings", id="nav.findings", show=False),
    ]

    #: the crumbs of this view, outermost first
    crumbs: tuple[str, ...] = ()

    @property
    def kc(self) -> KataConsole:
        """The app, typed."""
        return cast("KataConsole", self.app)

    def compose(self) -> ComposeResult:
        yield Breadcrumb(id="breadcrumb")
        if getattr(self.kc.source, "inspects_host", False):
            yield HostBar(self.kc.source, id="host-bar")
        yield from self.compose_body()
        yield FilterPrompt(id="filter-prompt", cursor_blink=self.kc.cursor_blink)
        yield StatusLine(id="status")
        yield KeyFooter()

    def compose_body(self) -> ComposeResult:
        """The view's own widgets, between the breadcrumb and the status line."""
        yield from ()

    def on_mount(self) -> None:
        crumb = self.query_one(Breadcrumb)
        crumb.path = self.crumbs
        source = self.kc.source
        crumb.source, crumb.demo = source.name, source.demo
        crumb.read_only = self.kc.actions_refused
        self.show_markers()
        self.query_one(StatusLine).notice = self.kc.standing_notice()
        self.show_sandboxes(self.kc.sandboxes)

    def on_screen_resume(self) -> None:
        self.show_sandboxes(self.kc.sandboxes)

    # ------------------------------------------------------------------ for subclasses

    def show_markers(self) -> None:
        """What runs the VMs and guests can change as sandboxes start (a QEMU's version is
        known once it runs), and the findings with each inspection: the breadcrumb follows
        both after every reload."""
        crumb = self.query_one(Breadcrumb)
        marker = getattr(self.kc.source, "vm_marker", None)
        crumb.marker = marker() if callable(marker) else ("", "")
        found = getattr(self.kc.source, "findings", None)
        crumb.findings = None if found is None else tuple(severity_counts(found).values())
        crumb.findings_scope = findings_scope(self.kc.source)

    def show_sandboxes(self, sandboxes: list[SandboxView]) -> None:
        """The app has a fresh picture: update this view (called after every reload)."""

    def operation_for(self, op: str) -> Operation | None:
        """The operation a lifecycle key means here (None: nothing selected)."""
        return None

    def status(
        self, message: str, level: str = "info", *, until: Callable[[], bool] | None = None
    ) -> None:
        """This view's status line (`until`: the message clears once that is true)."""
        self.query_one(StatusLine).show(message, level, until=until)

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if typed_by_focus(self, action):
            return False  # a prompt has focus: it types the key (`/`), nothing runs
        if action == "back" and not self._somewhere_back():
            return False  # the first view, nothing filtered: Esc has nothing to do
        if action in ("logs", "chains", "findings") and self.crumbs == (action,):
            return False  # the view the key opens is this one
        if action in MUTATING_ACTIONS and self.kc.actions_impossible:
            return False  # no flag can make them apply here: not offered
        if action in MUTATING_ACTIONS and self.kc.actions_refused:
            return None  # shown dimmed in the footer; the status line says why
        return True

    def _somewhere_back(self) -> bool:
        """Esc leaves the view (another is under it), clears the focused filter, or
        takes a bad filter term's error away."""
        stack = self.app.screen_stack
        under = bool(stack) and stack[0] is not self
        return under or bool(getattr(self.focused, "filter", "")) or self.filter_error_shown()

    def action_back(self) -> None:
        if self.clear_focused_filter():
            return
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()

    def action_jump(self) -> None:
        self.kc.open_jump()

    def action_help(self) -> None:
        from kata_console.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self))

    def action_reload(self) -> None:
        self.kc.reload()

    def action_logs(self) -> None:
        self.kc.jump_to("logs")

    def action_chains(self) -> None:
        self.kc.jump_to("chains")

    def action_findings(self) -> None:
        self.kc.jump_to("findings")

    def _lifecycle(self, op: str) -> None:
        operation = self.operation_for(op)
        if operation is None:
            self.status(f"nothing selected to {op}", "warning")
            return
        self.kc.request_op(operation)

    def action_op_create(self) -> None:
        self._lifecycle("create")

    def action_op_start(self) -> None:
        self._lifecycle("start")

    def action_op_stop(self) -> None:
        self._lifecycle("stop")

    def action_op_pause(self) -> None:
        self._lifecycle("pause")

    def action_op_resume(self) -> None:
        self._lifecycle("resume")

    def action_op_kill(self) -> None:
        self._lifecycle("kill")

    def action_op_delete(self) -> None:
        self._lifecycle("delete")
