"""Coloured badges for lifecycle states and agent health, as Rich text and as a widget.

Tables need the Rich `Text` (cells are renderables); detail screens use the widget. One
palette for both so a state reads the same everywhere: green runs, yellow waits, red is
broken, dim is gone.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

#: state -> style; "" is "not created" (a refused create leaves no state behind)
STATE_STYLES: dict[str, str] = {
    "running": "bold green",
    "ready": "bold cyan",
    "paused": "bold yellow",
    "stopped": "dim",
    "": "bold red",
}
HEALTH_STYLES: dict[str, str] = {
    "ok": "bold green",
    "dead": "bold white on red",
    "stopped": "dim",
    "unknown": "dim",
}


def state_text(state: str) -> Text:
    """`● running`-style badge; unknown states are shown as they are, in magenta."""
    label = state or "not created"
    return Text(f"● {label}", style=STATE_STYLES.get(state, "bold magenta"))


#: a dead agent is the console's conclusion from its health check, not a state Kata shows
DEAD_BY = "(console check)"


def health_text(health: str) -> Text:
    """Agent health: `ok`, a red `DEAD` marked as the console's own conclusion, a dim
    `stopped` (it went with its VM) or a dim `unknown`."""
    if health == "dead":
        return Text.assemble((" DEAD ", HEALTH_STYLES["dead"]), " ", (DEAD_BY, "dim"))
    return Text(health, style=HEALTH_STYLES.get(health, "dim"))


class StateBadge(Static):
    """A one-line state badge that recolours itself when `state` changes."""

    DEFAULT_CSS = """
    StateBadge {
        width: auto;
        height: 1;
    }
    """

    state: reactive[str] = reactive("", layout=True)
    """The lifecycle state shown ("" = not created)."""

    def __init__(
        self, state: str = "", *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id, classes=classes)
        self.set_reactive(StateBadge.state, state)

    def render(self) -> Text:
        return state_text(self.state)
