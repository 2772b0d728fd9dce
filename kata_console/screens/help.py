"""`?`: every key of the view underneath, with its binding id and whether it is usable.

Built from the view's live binding chain (focused widget, screen, app), so it never
drifts from what the keys do, includes keys hidden from the footer (and the palette's,
which the footer shows apart), and says why a disabled key is disabled. A key whose
footer label is short for the room (`Stop ctr`) is described by its tooltip, whole. The keys of the
view's other panes are listed as theirs ("when focused") when those panes are on the
screen and take them there; Tab and shift+Tab only when there is another pane to go to.

The rows are grouped by where the key comes from (a heading per pane, view or the app)
instead of a "from" column, and Textual's built-in keys, which have no binding id, come
in their own table without an id column: at 80 columns the descriptions keep the room.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from rich.cells import cell_len
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Static

from kata_console.keymap import live_bindings, priority_keys
from widgets.key_footer import KeyFooter

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
    gives_way: dict[str, tuple[int, str]] = {}  # key -> (its row, what that row did)
    taken = priority_keys(screen)  # the view's wherever focus is (the plan's `n`, `p`)
    for node, bindings in chain:
        for binding in bindings:
            if binding.key in gives_way and binding.id and not binding.system:
                at, nearer = gives_way.pop(binding.key)
                rows[at] = _fall_through(rows[at], nearer, binding, node)
                continue
            if binding.key in seen or binding.system:
                continue
            if binding.key in taken and not binding.priority:
                continue  # the view's priority binding runs it (the pane's `n` there)
            if single and binding.action in _PANE_CYCLE:
                continue
            state = app._check_action_state(binding.action, node)
            if state is False:
                continue
            seen.add(binding.key)
            if binding.action in GIVES_WAY:
                gives_way[binding.key] = (len(rows), GIVES_WAY[binding.action])
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
    # each key of an id once (the log pane's `n` and `f3`), as the keymap has moved it
    listed = {(row.binding_id, row.key) for row in rows if row.binding_id}
    for widget in screen.query("*"):
        if id(widget) in in_chain or not _on_screen(widget):
            continue  # a hidden pane, a closed prompt: no focus can reach them now
        for _, binding in live_bindings(widget):
            if not binding.id or (binding.id, binding.key) in listed or binding.key in taken:
                continue
            if app._check_action_state(binding.action, widget) is False:
                continue  # not the pane's there (the step-through's `n` and `p`)
            listed.add((binding.id, binding.key))
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


#: actions that give their key way to the next binding of the chain when they have
#: nothing to do (Textual's copy raises SkipAction without a selection), and what the
#: merged row adds for them after the console's description
GIVES_WAY = {"screen.copy_text": "with text selected: copy it"}


def _fall_through(row: KeyEntry, nearer: str, binding: Binding, node: DOMNode) -> KeyEntry:
    """One row for a key two bindings share: the nearer one acts when it can, the
    console's binding (named by its id, which a keymap rebinds) otherwise. ctrl+c copies
    a selection, else cancels the running operation: `?` says both, not only the copy."""
    state = node.app._check_action_state(binding.action, node)
    return row._replace(
        description=f"{_does(binding)}; {nearer}",
        binding_id=binding.id or "",
        where=type(node).__name__,
        enabled=bool(state),
    )


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
        yield KeyFooter()  # over the view's: its keys do not reach through the modal

    def _table(self) -> Group:
        """The console's keys (with their ids), then the built-in ones (no id column),
        each grouped under where it comes from; the key and id columns are as wide as
        their widest cell in every group, so the groups line up."""
        key_width = max((cell_len(row[0]) for row in self.rows), default=3)
        id_width = max([len(ID_HEADER), *(len(row[2]) for row in self.rows)])
        own = [row for row in self.rows if row[2]]
        builtin = [row for row in self.rows if not row[2]]
        parts: list[Table | Text] = [_columns(key_width, id_width, ID_HEADER)]
        parts += _groups(own, key_width, id_width)
        if builtin:
            parts.append(Text("\nbuilt-in keys (no binding id: --keymap cannot move them)"))
            parts += _groups(builtin, key_width, 0)
        if self.notice:
            parts.append(Text(f"\n{self.notice}", style="italic yellow"))
        return Group(*parts)

    def action_close(self) -> None:
        self.dismiss(None)


Row = tuple[str, str, str, str, bool]
#: the id column's header: the ids are what `--keymap` takes
ID_HEADER = "binding id (keymap)"


def _columns(key_width: int, id_width: int, id_header: str = "") -> Table:
    """A table of `?`: key, what it does (takes the room left), binding id when any."""
    table = Table(box=None, expand=True, pad_edge=False, show_header=bool(id_header))
    table.add_column("key", style="bold cyan", no_wrap=True, width=key_width)
    table.add_column("does", ratio=1)
    if id_width:
        table.add_column(id_header, style="dim", no_wrap=True, width=id_width)
    return table


def _groups(rows: list[Row], key_width: int, id_width: int) -> list[Table | Text]:
    """One heading (where the keys come from) and one table per group, in the order the
    rows come (nearest first)."""
    grouped: dict[str, list[Row]] = {}
    for row in rows:
        grouped.setdefault(row[3], []).append(row)
    out: list[Table | Text] = []
    for where, members in grouped.items():
        out.append(Text(where, style="bold"))
        table = _columns(key_width, id_width)
        for key, what, bid, _where, enabled in members:
            does = Text(what) if enabled else Text(f"{what} (disabled)", style="dim")
            table.add_row(key, does, *([bid] if id_width else []))
        out.append(table)
    return out
