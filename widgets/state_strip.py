"""State badges of a sandbox, its agent and its containers on one (wrapping) line.

They change as steps land: `sandbox sb ● running  agent ok  c1 ● ready`. Same palette as
every other state badge (`widgets.state_badge`), plus `deleted` for what the plan removed.
"""

from __future__ import annotations

from rich.cells import cell_len
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
        width = self.size.width
        # the word "sandbox" goes before the id is cut or the badge put on its own line:
        # the pane's title and place already say what the first piece is
        label = "sandbox "
        if width > 0 and len(label) + cell_len(sid) + 1 + badge(state).cell_len > width:
            label = ""
        pieces = [(Text.assemble((label, "bold"), (sid, "")), badge(state))]
        pieces.append((Text("agent ", style="bold"), health_text(self.health)))
        for cid, cstate in self.containers:
            pieces.append((Text(cid, style="bold"), badge(cstate)))
        text, used = _lines(pieces, width)
        aside = "no containers yet"
        if not self.containers and (
            self.size.width <= 0 or used + 3 + len(aside) <= self.size.width
        ):
            text.append(f"   {aside}", style="dim")  # an aside: not worth a line of its own
        return text


def _lines(pieces: list[tuple[Text, Text]], width: int) -> tuple[Text, int]:
    """The (name, badge) pieces three spaces apart, a new line where the next one would
    not fit (a name is never parted from its state), and the cells used on the last line.
    A piece wider than the line (a long sandbox id) breaks between its name and its badge,
    never inside the badge (`●` / `deleted`)."""
    text = Text()
    used = 0
    for name, state in pieces:
        piece = Text.assemble(name, " " if name.plain[-1:] != " " else "", state)
        if used and width > 0 and used + 3 + piece.cell_len > width:
            text.append("\n")
            used = 0
        elif used:
            text.append("   ")
            used += 3
        if width > 0 and used + piece.cell_len > width:
            head = name.copy()
            head.rstrip()
            head.truncate(width, overflow="ellipsis")  # an id longer than the line: cut
            text.append_text(head)
            text.append("\n")
            text.append_text(state)
            used = state.cell_len
            continue
        text.append_text(piece)
        used += piece.cell_len
    return text, used
