"""`?`: every key of the view underneath, with its binding id and whether it is usable.

Built from the view's live binding chain (focused widget, screen, app), so it never
drifts from what the keys do, includes keys hidden from the footer (and the palette's,
which the footer shows apart), and says why a disabled key is disabled. A key whose
footer label is short for the room (`Stop ctr`) is described by its tooltip, whole. The keys of the
view's other panes are listed as theirs ("when focused") when those panes are on the
screen and take them there; Tab and shift+Tab only when there is another pane to go to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static

if TYPE_CHECKING:
    from textual.dom import DOMNode


class KeyEntry(NamedTuple):
    """One row of `?`: a key as Textual names it and as the help shows it."""

    key: str
    display: str
    description: str
    binding_id: str
    where: str
    enabled: bool


def key_entries(screen: Screen[object]) -> list[KeyEntry]:
    """Every binding of the chain, the console's (with ids) before the widgets'
    built-ins, nearest first within each; a key shadowed by a nearer binding is left
    out. The rows of `?` (`key_rows`), with each key's name as a binding spells it."""
    rows: list[KeyEntry] = []
    seen: set[str] = set()
    app = screen.app
    chain: list[tuple[DOMNode, list[Binding]]] = [
        (node, [b for _, b in bindings]) for node, bindings in screen._binding_chain
    ]
    single = len(screen.focus_chain) < 2  # Tab has no other pane to go to
    for node, bindings in chain:
        for binding in bindings:
            if binding.key in seen or binding.system:
                continue
            if single and binding.action in _PANE_CYCLE:
                continue
            state = app._check_action_state(binding.action, node)
            if state is False:
                continue
            seen.add(binding.key)
            display = binding.key_display or app.get_key_display(binding)
            where = type(node).__name__
            rows.append(
                KeyEntry(
                    binding.key,
                    display,
                    _does(binding),
                    binding.id or "",
                    where,
                    bool(state),
                )
            )
    # keys of the view's other panes (they work once that pane has focus: Tab / click)
    in_chain = {id(node) for node, _ in chain}
    listed = {row.binding_id for row in rows if row.binding_id}
    for widget in screen.query("*"):
        if id(widget) in in_chain or not _on_screen(widget):
            continue  # a hidden pane, a closed prompt: no focus can reach them now
        for _, binding in widget._bindings:
            if not binding.id or binding.id in listed:
                continue
            if app._check_action_state(binding.action, widget) is False:
                continue  # not the pane's there (the step-through's `n` and `p`)
            listed.add(binding.id)
            display = binding.key_display or app.get_key_display(binding)
            where = f"{type(widget).__name__} (when focused)"
            rows.append(
                KeyEntry(
                    binding.key,
                    display,
                    _does(binding),
                    binding.id,
                    where,
                    True,
                )
            )
    # the console's own keys (they have ids) first, then the widgets' built-in ones
    return sorted(rows, key=lambda row: not row.binding_id)


def _does(binding: Binding) -> str:
    """A console key's tooltip when it has one (its footer label is short for the room:
    `Stop ctr`), else its label; Textual's own keys keep their label (their tooltips are
    sentences for a hover, not a row)."""
    if binding.id and binding.tooltip:
        return binding.tooltip
    return binding.description or binding.action


#: the actions of Tab and shift+Tab (listed only where there is another pane)
_PANE_CYCLE = frozenset({"app.focus_next", "app.focus_previous", "focus_next", "focus_previous"})


def _on_screen(widget: Widget) -> bool:
    """Shown, and so is every container it is in."""
    return all(node.display for node in widget.ancestors_with_self if isinstance(node, Widget))


def key_rows(screen: Screen[object]) -> list[tuple[str, str, str, str, bool]]:
    """(key, description, binding id, where, enabled) for every row of `?`."""
    return [
        (row.display, row.description, row.binding_id, row.where, row.enabled)
        for row in key_entries(screen)
    ]


class HelpScreen(ModalScreen[None]):
    """Keys of the view it was opened from."""

    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", id="help.close")]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > VerticalScroll {
            width: 100;
            max-width: 100%;
            height: 80%;
            border: thick $primary;
            background: $surface;
            padding: 0 1;
        }
    }
    """

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.rows = key_rows(under)
        self.title_text = " \u203a ".join(getattr(under, "crumbs", ())) or type(under).__name__
        self.notice = ""
        refused = getattr(getattr(under, "kc", None), "actions_refused", False)
        if refused:
            self.notice = under.kc.standing_notice()  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = f"keys: {self.title_text}"
            scroll.border_subtitle = "Esc closes"
            yield Static(self._table())

    def _table(self) -> Table:
        table = Table(box=None, expand=True, pad_edge=False)
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("does")
        table.add_column("binding id (keymap)", style="dim", no_wrap=True)
        table.add_column("from", style="dim", no_wrap=True)
        for key, what, bid, where, enabled in self.rows:
            does = Text(what) if enabled else Text(f"{what} (disabled)", style="dim")
            table.add_row(key, does, bid, where)
        if self.notice:
            table.add_row("", Text(self.notice, style="italic yellow"), "", "")
        return table

    def action_close(self) -> None:
        self.dismiss(None)
