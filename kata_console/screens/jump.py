"""`:` — jump to a view or a resource by name, k9s style.

Targets: `sandboxes` (alias `sb`), `chains`, `logs`, `help`, a sandbox id, a container
id, or `sandbox/container`. Tab completes from the current names; an unknown name is a
status-line error. Resolution is a pure function so it is tested without a screen.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import ModalScreen

from kata_console.sources.model import SandboxView
from widgets.prompt_bar import PromptBar

VIEWS = {
    "sandboxes": "sandboxes",
    "sb": "sandboxes",
    "chains": "chains",
    "logs": "logs",
    "help": "help",
}


def resolve_target(text: str, sandboxes: list[SandboxView]) -> tuple[str, ...] | None:
    """("view", name) | ("sandbox", id) | ("container", sandbox_id, container_id) | None.

    Exact names win; otherwise a unique prefix is accepted.
    """
    name = text.strip().lstrip(":").strip()
    if not name:
        return None
    if name.lower() in VIEWS:
        return ("view", VIEWS[name.lower()])
    if "/" in name:
        sb_id, _, c_id = name.partition("/")
        sb = next((s for s in sandboxes if s.id == sb_id), None)
        if sb is not None and sb.container(c_id) is not None:
            return ("container", sb_id, c_id)
        return None
    candidates: list[tuple[str, ...]] = [("sandbox", s.id) for s in sandboxes]
    candidates += [("container", s.id, c.id) for s in sandboxes for c in s.containers]
    exact = [c for c in candidates if c[-1] == name]
    if exact:
        return exact[0]
    prefixed = [c for c in candidates if c[-1].startswith(name)]
    return prefixed[0] if len(prefixed) == 1 else None


def jump_names(sandboxes: list[SandboxView]) -> list[str]:
    """Every name `:` accepts, for completion."""
    names = ["sandboxes", "chains", "logs", "help"]
    names += [s.id for s in sandboxes]
    names += [c.id for s in sandboxes for c in s.containers]
    return names


class JumpScreen(ModalScreen[str | None]):
    """A bottom prompt; dismisses with the text typed (None if cancelled)."""

    DEFAULT_CSS = """
    JumpScreen {
        background: $background 30%;
        & > PromptBar { margin-bottom: 1; }
    }
    """

    def __init__(self, names: list[str], cursor_blink: bool = True) -> None:
        super().__init__()
        self.names = names
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        yield PromptBar(id="jump", cursor_blink=self.cursor_blink)

    def on_mount(self) -> None:
        self.query_one(PromptBar).ask(
            "jump",
            "jump to: sandboxes | chains | logs | help | <sandbox> | <container>",
            "",
            self.names,
        )

    def on_prompt_bar_answered(self, event: PromptBar.Answered) -> None:
        event.stop()
        self.dismiss(event.value)

    def on_prompt_bar_cancelled(self, event: PromptBar.Cancelled) -> None:
        event.stop()
        self.dismiss(None)
