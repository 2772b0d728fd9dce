"""Set-ups and expectations of the key audit (tests/keyaudit.py), by action.

A key that has nothing to do where it is pressed proves nothing, so before a key is
pressed its target is put where the key has work: Home starts from the last row, End
from the first, a scroll key gets a pane smaller than its content, n/N get a find term
with several matches, a tree key gets a node with the parent, sibling or children it
moves to, copy gets a selection, Tab completion gets a typed prefix. What a key toggles
(wrap, sort, a collapsed tree) is put back afterwards, so the next key finds the pane as
it was. A few keys change nothing the picture holds; `expectation` says what they must
do instead (a refresh asks the source, `q` quits, `?` lists the view's keys, Enter on a
device row opens that device, Home on a table goes to its first row, the plan's keys).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from textual.selection import Selection
from textual.widget import Widget
from textual.widgets import DataTable, Tree

from kata_console.screens.help import HelpScreen, key_entries
from tests.keypicture import Resolved, Signature
from widgets.document_view import DocumentView
from widgets.log_pane import LogPane
from widgets.log_view import LogView
from widgets.prompt_bar import PromptBar
from widgets.resource_table import ResourceTable
from widgets.status_line import StatusLine

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.widgets.tree import TreeNode

    from tests.keyaudit import Audit

#: movement towards the start (top, left): it starts from the far end
TOWARDS_START = frozenset(
    {
        "scroll_top",
        "scroll_home",
        "cursor_up",
        "page_up",
        "scroll_up",
        "scroll_left",
        "page_left",
        "cursor_left",
    }
)
#: movement towards the end (bottom, right): it starts from the top
TOWARDS_END = frozenset(
    {
        "scroll_bottom",
        "scroll_end",
        "cursor_down",
        "page_down",
        "scroll_down",
        "scroll_right",
        "page_right",
        "cursor_right",
        "follow",
        "follow_end",
    }
)
#: movement that moves a cursor (a table's row, a tree's line), not the view
CURSOR_MOVES = frozenset(
    {"cursor_up", "cursor_down", "page_up", "page_down", "scroll_top", "scroll_bottom", "follow"}
)
#: movement sideways (a row-cursor table's Home/End scroll sideways too)
SIDEWAYS = frozenset(
    {"scroll_left", "scroll_right", "page_left", "page_right", "cursor_left", "cursor_right"}
)
#: tree keys that need a node with children under the cursor
TREE_TOGGLES = frozenset({"select_cursor", "toggle_node", "toggle_expand_all"})
#: the plan's keys on the step-through, in the order they are pressed (continue last:
#: it runs the plan to its end)
PLAN_ORDER = ("step", "abort", "pause", "continue")
#: actions that leave the place (a way back costs a new one): pressed after the rest
LEAVING = frozenset({"back", "run", "cancel", "close"})
#: actions that do the same wherever they are pressed (on the same code): judged once
SHARED = frozenset(
    {
        *TOWARDS_START,
        *TOWARDS_END,
        "cursor_parent",
        "cursor_parent_next_sibling",
        "cursor_previous_sibling",
        "cursor_next_sibling",
        "toggle_node",
        "toggle_expand_all",
        "expand_all",
        "collapse_layers",
        "sort",
        "invert_sort",
        "filter",
        "pause",
        "pause_view",
        "wrap",
        "timestamps",
        "next_match",
        "previous_match",
        "find",
        "save",
        "jump",
        "help",
        "quit",
        "cancel_op",
        "command_palette",
        "reload",
        "logs",
        "chains",
        "findings",
        "stepthrough",
    }
)
#: the views a navigation key leads to: there it has nowhere to go, so it is judged again
LEADS_TO = {
    "logs": "logs",
    "chains": "chains",
    "findings": "findings",
    "stepthrough": "stepthrough",
}
#: what README.md's "tables" row promises: these keys move a table's row cursor
ROW_KEYS = {"home": "first", "g": "first", "end": "last", "G": "last"}
#: how a problem that is a failed set-up starts
NO_SETUP = "cannot be given something to do: "


def _plan_key(found: Resolved) -> bool:
    return found.action in PLAN_ORDER and "StepThrough" in type(found.target).__name__


def rank(found: Resolved | None) -> tuple[int, int]:
    """The order keys are pressed in on one pane: the widgets' own movement keys first
    (a toggle such as wrap would take their work away), then the console's, the plan's,
    and last what leaves the place."""
    if found is None:
        return (1, 0)
    if _plan_key(found):
        return (2, PLAN_ORDER.index(found.action))
    if found.action in LEAVING:  # a confirmed operation changes the source: the last
        return (3, int(found.action == "run"))
    return (0 if not found.binding.id else 1, 0)


def row_promise(found: Resolved, key: str, lists: tuple[str, ...]) -> str | None:
    """ "first" / "last" when README.md promises `key` moves this table's row cursor."""
    if "readme" in lists and isinstance(found.target, DataTable):
        return ROW_KEYS.get(key)
    return None


def code_class(found: Resolved, promise: str | None = None) -> tuple[object, ...]:
    """The code a key runs, wherever: a key with nothing to do on one pane is judged by
    the same code on another pane that had something."""
    return ("code", found.code_name, found.params, promise)


def press_class(
    found: Resolved, place: str, source: str, promise: str | None
) -> tuple[object, ...]:
    """Presses that are the same test: one binding running one piece of code, anywhere
    for a `SHARED` action (except on the view it leads to), else on one view (what Esc,
    Enter, D, y, an operation or Tab do depends on the view) and, for an operation or a
    plan's key (whether it may run depends on what the source holds), on each source."""
    what = (found.binding.id or found.binding.action, found.code_name, found.params, promise)
    plan = _plan_key(found)
    if found.action in SHARED and not plan and LEADS_TO.get(found.action) != place:
        return what
    view = (*what, type(found.screen).__name__, type(found.target).__name__)
    if found.action.startswith("op_") or plan:
        return (*view, source)
    return view


# ---------------------------------------------------------------------- set-up


@dataclass
class Setup:
    """What `prepare` changed and what a key may toggle, so `undo` can put it back;
    `problem` says why the key could not be given anything to do."""

    problem: str = ""
    shrunk: list[Widget] = field(default_factory=list)
    found: list[LogPane | DocumentView] = field(default_factory=list)
    selected: Screen[object] | None = None
    toggles: list[tuple[object, object]] = field(default_factory=list)


def reset_first_view(screen: Screen[object]) -> None:
    """The first view is never made again: its table loses what a key left on it."""
    for table in screen.query(ResourceTable):
        table.set_filter("")
        table.set_sort(None)


def close_prompts(screen: Screen[object]) -> bool:
    """Close what a key left open (True: something was)."""
    closed = False
    for bar in screen.query(PromptBar):
        if bar.is_open:
            bar.action_cancel()
            closed = True
    return closed


def disabled_reason(screen: Screen[object]) -> str:
    """Why the view's dimmed keys are dimmed, as the view says it: its status line, and
    on the step-through the phase of the plan its preview shows (held, finished)."""
    said = []
    for line in screen.query(StatusLine):
        said += [t for t in (line.notice, line.message) if t]
    for preview in screen.query("StepPreview"):
        said.append(f"plan {getattr(preview, 'phase', '')}")
    return "; ".join(said)


async def enable(found: Resolved, screen: Screen[object], audit: Audit) -> bool:
    """Bring a dimmed key where it applies, when that can be set up: the step-through's
    pause needs a plan that moves (slow motion: one step a minute)."""
    plan = getattr(screen, "plan", None)
    if found.action == "pause" and _plan_key(found) and plan is not None and plan.running:
        audit.app.step_delay = 60.0
        await audit.pilot.press("c")
        audit.app.step_delay = 0.0
        await settle_plan(audit)
        return audit.app._check_action_state(found.binding.action, found.node) is True
    return False


async def prepare(
    found: Resolved, promise: str | None, screen: Screen[object], audit: Audit
) -> Setup:
    """Give the key something to do (`Setup.problem`: why that is impossible here);
    `promise`: the row README.md says the key goes to (the cursor starts at the other)."""
    setup = Setup()
    _remember(screen, setup)
    action, node = found.action, found.target
    if promise is not None and isinstance(node, DataTable):
        if node.row_count < 2:
            setup.problem = f"{type(node).__name__} has {node.row_count} row(s)"
        else:
            node.move_cursor(row=0 if promise == "last" else node.row_count - 1, animate=False)
            await audit.quiet()
    elif action == "complete":
        setup.problem = _typed_prefix(screen)
    elif action == "select_cursor" and isinstance(node, DataTable) and not node.row_count:
        setup.problem = f"{type(node).__name__} has no rows"
    elif action in ("next_match", "previous_match"):
        setup.problem = _find(node, setup)
    elif action == "copy_text":
        setup.problem = _select(screen, setup)
    elif isinstance(node, Tree) and (problem := _tree(action, node)):
        setup.problem = problem
    elif action in TOWARDS_START | TOWARDS_END:
        target = node.view if isinstance(node, LogPane) else node
        setup.problem = await _move(action, target, setup, audit)  # type: ignore[arg-type]
    return setup


async def undo(setup: Setup, audit: Audit) -> None:
    """Put back what `prepare` changed and what the key toggled."""
    for node, value in setup.toggles:
        _put_back(node, value)
    for node in setup.shrunk:
        node.styles.max_height = None
        node.styles.max_width = None
    for found in setup.found:
        found.set_find("")
    if setup.selected is not None:
        setup.selected.selections = {}
    await audit.quiet()


def _remember(screen: Screen[object], setup: Setup) -> None:
    for pane in screen.query(LogPane):
        setup.toggles += [(pane, pane.paused), (pane.view, pane.view.wrap)]
        setup.toggles.append((pane.buffer, pane.buffer.timestamps))
    for table in screen.query(ResourceTable):
        setup.toggles.append((table, (table.sort_column, table.sort_reverse)))
    for tree in screen.query(Tree):
        setup.toggles.append((tree, _expanded(tree)))
    if hasattr(screen, "raw"):
        setup.toggles.append((screen, screen.raw))


def _put_back(node: object, value: object) -> None:
    if isinstance(node, LogPane) and node.paused != value:
        node.paused = bool(value)
    elif isinstance(node, LogView) and node.wrap != value:
        node.relayout(wrap=bool(value))
    elif isinstance(node, ResourceTable) and (node.sort_column, node.sort_reverse) != value:
        node.set_sort(*value)  # type: ignore[misc]
    elif isinstance(node, Tree) and _expanded(node) != value:
        node.root.expand_all()
    elif hasattr(node, "set_layout") and node.timestamps != value:  # a log buffer
        node.set_layout(timestamps=bool(value), wrap_width=node.wrap_width)  # type: ignore[attr-defined]
    elif hasattr(node, "_show") and node.raw != value:  # the describe view
        node.raw = value  # type: ignore[attr-defined]
        node._show()  # type: ignore[attr-defined]


async def _move(action: str, node: Widget, setup: Setup, audit: Audit) -> str:
    """The cursor, or the view, at the end the key moves away from; a view that would
    not scroll is made smaller than its content first."""
    start = action in TOWARDS_END
    if isinstance(node, DataTable | Tree) and action in CURSOR_MOVES:
        if isinstance(node, DataTable):
            if node.row_count < 2:
                return f"{type(node).__name__} has {node.row_count} row(s)"
            node.move_cursor(row=0 if start else node.row_count - 1, animate=False)
        elif node.last_line < 1:
            return "the tree has one line"
        else:
            node.cursor_line = 0 if start else node.last_line
        await audit.pilot.pause()
        return ""
    sideways = action in SIDEWAYS or (
        isinstance(node, DataTable) and action in ("scroll_home", "scroll_end")
    )
    node.styles.max_height = 5
    node.styles.max_width = 30
    setup.shrunk.append(node)
    await audit.pilot.pause()
    if sideways and not node.max_scroll_x:
        return f"{type(node).__name__} is not wider than 30 columns"
    if not sideways and not node.max_scroll_y:
        return f"{type(node).__name__} has no more than 5 lines"
    x = 0 if start else node.max_scroll_x
    y = 0 if start else node.max_scroll_y
    node.scroll_to(x=x, y=y, animate=False, immediate=True)
    return ""


def _tree(action: str, tree: Tree[object]) -> str:
    """The cursor on a node the tree key has something to do with."""
    nodes = _nodes(tree)
    if action == "expand_all":  # something collapsed to expand
        for n in nodes:
            if n.children and n.parent is not tree.root:
                n.collapse()
        return ""
    if action == "collapse_layers":  # something expanded to collapse
        tree.root.expand_all()
        return ""
    wants = {
        "cursor_parent": lambda n: n.parent is not None and n.parent is not tree.root,
        "cursor_parent_next_sibling": lambda n: (
            n.parent is not None and n.parent.next_sibling is not None
        ),
        "cursor_previous_sibling": lambda n: n.previous_sibling is not None,
        "cursor_next_sibling": lambda n: n.next_sibling is not None,
        **{t: lambda n: bool(n.children) for t in TREE_TOGGLES},
    }
    if action not in wants:
        return ""
    pick = next((n for n in nodes if wants[action](n)), None)
    if pick is None:
        return f"no node in the tree for {action}"
    if action in TREE_TOGGLES:
        pick.expand()
    tree.move_cursor(pick, animate=False)
    return ""


def _nodes(tree: Tree[object]) -> list[TreeNode[object]]:
    """The tree's visible nodes, top to bottom."""
    out = []
    stack = list(reversed(tree.root.children))
    while stack:
        node = stack.pop()
        out.append(node)
        if node.is_expanded:
            stack.extend(reversed(node.children))
    return out


def _expanded(tree: Tree[object]) -> tuple[bool, ...]:
    return tuple(n.is_expanded for n in _nodes(tree))


def _find(node: object, setup: Setup) -> str:
    """A find term with several matches (n / N go from one to the next)."""
    if isinstance(node, LogView):
        node = node.parent
    if isinstance(node, LogPane):
        if len(node.buffer.text_of().splitlines()) < 2:
            return "the log has fewer than two lines"
        node.set_find(" ")
        setup.found.append(node)
        return ""
    if isinstance(node, DocumentView):
        setup.found.append(node)
        return "" if node.set_find('"') > 1 else "the document has no two quotes"
    return f"no find on {type(node).__name__}"


def _select(screen: Screen[object], setup: Setup) -> str:
    """A selection (what a mouse drag makes) over a text on the screen."""
    everything = Selection(None, None)
    for widget in screen.query("*"):
        if not widget.display or not widget.region.area:
            continue
        with contextlib.suppress(Exception):  # a widget that has no text to give
            text = widget.get_selection(everything)
            if text and text[0].strip():
                screen.selections = {widget: everything}
                setup.selected = screen
                return ""
    return "no text on the screen to select"


def _typed_prefix(screen: Screen[object]) -> str:
    """Tab completes what was typed: the first letters of a name `:` knows."""
    names = getattr(screen, "names", [])
    prompts = screen.query(PromptBar)
    if not names or not prompts:
        return "no prompt with names to complete"
    prompts.first().value = names[0][:2]
    return ""


async def settle_plan(audit: Audit) -> None:
    """A plan's step lands in the background: wait until the engine is at rest."""
    source = audit.app.source
    bus = getattr(source, "bus", None)
    if bus is None or not hasattr(source, "progress"):
        return
    for _ in range(500):
        if bus.stepper.waiting or source.progress.finished or not bus.stepper.holding:  # type: ignore[attr-defined]
            break
        await audit.pilot.pause(0.01)
    await audit.settle()


# ---------------------------------------------------------------------- expectations


def expectation(
    found: Resolved,
    promise: str | None,
    audit: Audit,
    before: Signature,
    after: Signature,
    calls: dict[str, int],
) -> str | None:
    """What a key whose effect the picture cannot hold must do: "" when it did, a
    problem when it did not, None when the picture's change decides."""
    app = audit.app
    action, node = found.action, found.target
    if promise is not None:
        table = node
        assert isinstance(table, DataTable)
        want = 0 if promise == "first" else table.row_count - 1
        return "" if table.cursor_row == want else f"did not go to the {promise} row"
    if action == "reload":
        grew = [name for name, n in audit.calls.items() if n > calls.get(name, 0)]
        return "" if grew else "refresh asked the source for nothing"
    if action == "quit":
        return "" if audit.exits > before["exits"] else "did not quit"  # type: ignore[operator]
    if action == "help":
        shown = app.screen
        if not isinstance(shown, HelpScreen):
            return "did not open the help"
        listed = [e.display for e in key_entries(found.screen)]
        return "" if [r[0] for r in shown.rows] == listed else "the help lists other keys"
    if action == "select_cursor" and type(node).__name__ == "DeviceTable":
        from kata_console.screens.device import DeviceScreen

        shown = app.screen
        ok = isinstance(shown, DeviceScreen) and shown.device.id == node.selected_key  # type: ignore[attr-defined]
        return "" if ok else "Enter on a device row did not open that device"
    if _plan_key(found):
        return _plan(action, audit, before, after)
    return None


def _plan(action: str, audit: Audit, before: Signature, after: Signature) -> str:
    from kata_console.screens.confirm import ConfirmScreen

    if action == "step":  # a step runs; while the plan runs freely it holds first
        ran = after["plan.steps"] > before["plan.steps"]  # type: ignore[operator]
        held = after["plan.holding"] and not before["plan.holding"]
        return "" if ran or held else "no step ran"
    if action == "continue":
        ok = not after["plan.holding"] or after["plan.slow"] or after["plan.finished"]
        return "" if ok else "the plan did not continue"
    if action == "pause":
        return "" if after["plan.holding"] else "the plan did not pause"
    return "" if isinstance(audit.app.screen, ConfirmScreen) else "abort did not ask first"
