"""State badges of a sandbox, its agent and its containers on one (wrapping) line.

They change as steps land: `sandbox sb ● running  agent ok  c1 ● ready`. Same palette as
every other state badge (`widgets.state_badge`), plus `deleted` for what the plan removed.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from widgets.state_badge import health_text, state_text


def badge(state: str) -> Text:
    """A state badge; `deleted` reads as gone (dim, struck through)."""
    if state == "deleted":
        return Text("● deleted", style="dim strike")
    return state_text(state)


class StateStrip(Widget):
    """`sandbox <id> <badge>  agent <health>  <container> <badge> ...`."""

    DEFAULT_CSS = """
    StateStrip {
        height: auto;
        padding: 0 1;
    }
    """

    sandbox: reactive[tuple[str, str]] = reactive(("", ""))
    """(sandbox id, state)."""
    health: reactive[str] = reactive("unknown")
    """The sandbox's agent health: ok | dead | unknown."""
    containers: reactive[tuple[tuple[str, str], ...]] = reactive(tuple)
    """(container id, state) in order of appearance."""

    def render(self) -> Text:
        sid, state = self.sandbox
        text = Text.assemble(("sandbox ", "bold"), (sid, ""), " ", badge(state))
        text.append("   agent ", style="bold")
        text.append_text(health_text(self.health))
        if not self.containers:
            text.append("   no containers yet", style="dim")
        for cid, cstate in self.containers:
            text.append("   ")
            text.append(cid, style="bold")
            text.append(" ")
            text.append_text(badge(cstate))
        return text
