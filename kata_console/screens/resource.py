"""Views of resources share three keys: describe (`D`), copy a path (`y`), export (`ctrl+e`).

A view says what is selected (`describe_target`, `selected_path`, `export_data`); this
class does the rest: opens the describe view, copies with OSC 52 (`App.copy_to_clipboard`:
it reaches the terminal's clipboard also over ssh, when the terminal allows it) and asks
where to export, with a default name in the working directory. What happened is one
status line; nothing selected is a warning, never a traceback.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding

from kata_console.engine.inspect.report import HostReport, SandboxReport
from kata_console.exports import default_path, to_json
from kata_console.screens.base import ConsoleScreen
from kata_console.sources.model import Operation, SandboxView
from kata_console.sources.rawdocs import Target
from widgets.export_prompt import ExportPrompt

RESOURCE_BINDINGS = [
    Binding("D", "describe", "Describe", id="resource.describe", show=False),
    Binding("y", "copy_path", "Copy path", id="resource.copy_path", show=False),
    Binding("ctrl+e", "export", "Export", id="resource.export", show=False),
]


def host_report(source: object) -> HostReport | None:
    """The last inspection of a host source (what `inspect --json` prints), else None."""
    report = getattr(source, "report", None)
    return report if isinstance(report, HostReport) else None


def host_sandbox(source: object, sandbox_id: str) -> SandboxReport | None:
    """One sandbox of the last inspection (an entry of `inspect --json`'s `sandboxes`)."""
    report = host_report(source)
    if report is None:
        return None
    return next((s for s in report.sandboxes if s.id == sandbox_id), None)


def sandbox_path(sb: SandboxView | None) -> tuple[str, str] | None:
    """What `y` copies for a sandbox: its shim socket, else its state directory; a shim
    socket from a recording (the demo's node) is not on this machine, so the state
    directory comes first there, and the recorded socket is said to be one."""
    if sb is None:
        return None
    state_dir = dict(sb.facts).get("state dir")
    recorded = "shim" in sb.recorded
    if sb.shim is not None and sb.shim.socket and not (recorded and state_dir):
        return ("recorded shim socket" if recorded else "shim socket", sb.shim.socket)
    return ("state directory", state_dir) if state_dir else None


def copy_path(app: App[object], what: str, path: str) -> str:
    """Copy `path` with OSC 52 (`App.copy_to_clipboard`); returns what to tell the user."""
    app.copy_to_clipboard(path)
    return f"copied {what} {path} (OSC 52: the terminal must allow it)"


def gone_level(source_app: object, sandbox_id: str, container_id: str | None = None) -> str:
    """How a view says its resource is gone: the operator's own delete (the last operation
    this console ran, done) is what they asked for, "info"; anything else is "warning"."""
    results: list[tuple[Operation, str | None]] = getattr(source_app, "op_results", [])
    if not results:
        return "warning"
    op, error = results[-1]
    ours = op.sandbox_id == sandbox_id and (
        op.op == "delete_sandbox"
        or (op.op == "delete_container" and op.container_id == container_id)
    )
    return "info" if ours and error is None else "warning"


class ResourceScreen(ConsoleScreen):
    """A ConsoleScreen whose rows are sandboxes, containers, devices or chains."""

    BINDINGS: ClassVar[list[Binding]] = RESOURCE_BINDINGS

    #: False: the view has nothing to describe (`D` is hidden)
    can_describe = True

    def compose(self) -> ComposeResult:
        yield from super().compose()
        # composed with the view, not mounted on ctrl+e: keys typed right after ctrl+e
        # then land in the path prompt, not in the table behind it
        yield ExportPrompt(id="export-prompt", cursor_blink=self.kc.cursor_blink)

    # ------------------------------------------------------------------ for subclasses

    def describe_target(self) -> Target | None:
        """("sandbox", sb) | ("container", sb, c) | ("device", sb, id) selected here."""
        return None

    def selected_path(self) -> tuple[str, str] | None:
        """(what, path) of the selection: a backing file, a mountpoint, a socket."""
        return None

    def export_data(self) -> tuple[str, str, Any] | None:
        """(what, file name part, JSON data) of this view, the CLI's JSON for it."""
        return None

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "describe" and not self.can_describe:
            return False
        return super().check_action(action, parameters)

    def action_describe(self) -> None:
        target = self.describe_target()
        if target is None:
            self.status("nothing selected to describe", "warning")
            return
        self.kc.open_describe(target)

    def action_copy_path(self) -> None:
        found = self.selected_path()
        if found is None:
            self.status(
                "no path here to copy (select a device, a container or a chain line)", "warning"
            )
            return
        self.status(copy_path(self.app, *found))

    def action_export(self) -> None:
        found = self.export_data()
        if found is None:
            self.status("nothing to export here", "warning")
            return
        what, stem, data = found
        self.ask_export(what, to_json(data), stem)

    def ask_export(self, what: str, text: str, stem: str, kind: str = "JSON") -> None:
        """Open the path prompt for `text` (a default file name from `stem`)."""
        prompt = self.query_one(ExportPrompt)
        prompt.open(what, text, default_path(stem, self.kc.source.now()), kind)
        # the prompt's own label is hidden by the proposed path: say here what it writes
        self.status(f"export {what} as {kind} to the path below (Enter writes, Esc cancels)")

    # ------------------------------------------------------------------ handlers

    def on_export_prompt_done(self, event: ExportPrompt.Done) -> None:
        event.stop()
        self.status(event.message, event.level)
