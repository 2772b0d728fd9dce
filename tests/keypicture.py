"""What the key audit reads off a running console (tests/keyaudit.py).

The picture before and after a key (`signature`), what the footer shows, what a modal's
own text names, what a key runs where it is pressed (`resolve`, the order Textual looks
bindings up in), and how README.md spells keys.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Button, Footer, Input
from textual.widgets._footer import FooterKey

from kata_console.keymap import CHARACTER_NAMES, normalize_key
from kata_console.screens.help import KeyEntry

if TYPE_CHECKING:
    from kata_console.app import KataConsole

#: what a key can change, as comparable fields
Signature = dict[str, object]
#: how the README and a modal's text spell some keys
SPELLED = {"esc": "escape", "⏎": "enter", "return": "enter"}
#: what each widget is read for (what a key can change on it)
PROBES = (
    "cursor_coordinate",
    "cursor_line",
    "scroll_offset",
    "filter",
    "sort_column",
    "sort_reverse",
    "paused",
    "wrap",
    "follow",
    "current",
    "is_open",
    "kind",
    "value",
    "message",
    "display",
    "last_line",
)


def _probe(node: object, name: str) -> object:
    try:
        value = getattr(node, name)
    except Exception:  # a property that needs a state the widget is not in
        return None
    return None if callable(value) else repr(value)


def signature(app: KataConsole, exits: int) -> Signature:
    """Everything a key can change that does not change by itself (no text that grows
    with time: the clocks are frozen and the sources' feeds are quiet)."""
    screen = app.screen
    sig: Signature = {
        "stack": tuple((type(s).__name__, id(s)) for s in app.screen_stack),
        "focus": f"{name_of(app.focused)}@{id(app.focused)}",
        "exits": exits,
        "clipboard": app.clipboard,
        "notifications": len(app._notifications),
        "ops": len(app.op_results),
        "theme": app.theme,
        "screen.raw": _probe(screen, "raw"),
        **plan_state(screen),
    }
    for widget in screen.query("*"):
        if isinstance(widget, FooterKey | Footer):
            continue
        state = [(n, v) for n in PROBES if (v := _probe(widget, n)) not in (None, "None")]
        buffer = getattr(widget, "buffer", None)
        if buffer is not None:
            state += [(n, _probe(buffer, n)) for n in ("find", "filter", "scope", "timestamps")]
        state.append(("classes", widget.has_class("-folded"), widget.has_class("-open")))
        sig[f"{name_of(widget)}@{id(widget)}"] = tuple(state)
    return sig


def plan_state(screen: Screen[object]) -> dict[str, object]:
    """What the step-through's keys change: the plan's progress and its gate."""
    plan = getattr(screen, "plan", None)
    if plan is None:
        return {}
    return {
        "plan.steps": len(plan.progress.steps),
        "plan.holding": plan.bus.stepper.holding,
        "plan.finished": plan.progress.finished,
        "plan.slow": getattr(screen, "_slow", None) is not None,
    }


def changed(before: Signature, after: Signature) -> list[str]:
    """The fields that differ, by name (a widget's name without its identity)."""
    keys = sorted(k for k in {*before, *after} if before.get(k) != after.get(k))
    return [k.split("@")[0] for k in keys]


def name_of(node: object) -> str:
    if node is None:
        return "-"
    ident = getattr(node, "id", None)
    return type(node).__name__ + (f"#{ident}" if ident else "")


def footer_keys(screen: Screen[object]) -> list[tuple[str, bool]]:
    """(key, enabled) of every key the footer shows (a modal without one shows none)."""
    return [
        (key.key, not key.has_class("-disabled"))
        for key in screen.query(FooterKey)
        if key.display and key.region.width
    ]


def hint_keys(screen: Screen[object]) -> set[str]:
    """Keys a modal's own text names: "Esc closes" (a border), "Run (y)" (a button),
    "(Tab completes)" (a placeholder)."""
    texts: list[str] = []
    for widget in [screen, *screen.query("*")]:
        texts += [str(widget.border_title or ""), str(widget.border_subtitle or "")]
        if isinstance(widget, Button):
            texts.append(str(widget.label))
        if isinstance(widget, Input):
            texts.append(widget.placeholder)
    keys: set[str] = set()
    for text in texts:
        keys |= {k.lower() for k in re.findall(r"\((\w)\)", text)}
        for word in re.findall(r"\b(esc|tab|enter)\b", text, flags=re.IGNORECASE):
            keys.add(SPELLED.get(word.lower(), word.lower()))
    return keys


def typed_in_prompt(key: str) -> bool:
    """A character an input takes: typed into a prompt, never run as a binding there."""
    return len(key) == 1 or key in CHARACTER_NAMES or key == "space"


def as_key(token: str) -> str | None:
    """A README token as Textual names the key (None: not a key)."""
    try:
        return normalize_key(SPELLED.get(token, token))
    except ValueError:
        return None


def elsewhere(entry: KeyEntry) -> bool:
    """A row of `?` for another pane ("when focused"), not the focused one's chain."""
    return "(when focused)" in entry.where


@dataclass(frozen=True)
class Resolved:
    """The binding a key runs where it is pressed, and the code that runs."""

    screen: Screen[object]
    node: DOMNode
    binding: Binding
    target: DOMNode
    action: str
    params: tuple[object, ...]
    enabled: bool

    @property
    def code(self) -> object:
        kind = type(self.target)
        return getattr(kind, f"_action_{self.action}", None) or getattr(
            kind, f"action_{self.action}", None
        )

    @property
    def code_name(self) -> str:
        code = self.code
        return f"{getattr(code, '__module__', '')}.{getattr(code, '__qualname__', code)}"


def resolve(screen: Screen[object], key: str) -> Resolved | None:
    """What `key` runs on `screen` now: priority bindings first (app down), then the
    focused pane up; a binding whose check says False is skipped, as Textual does."""
    app = screen.app
    for priority in (True, False):
        chain = reversed(screen._binding_chain) if priority else screen._modal_binding_chain
        for node, bindings in chain:
            for binding in bindings.key_to_bindings.get(key, ()):
                if binding.priority != priority:
                    continue
                state = app._check_action_state(binding.action, node)
                if state is False:
                    continue
                target, action, params = app._parse_action(binding.action, node)
                return Resolved(screen, node, binding, target, action, params, bool(state))
    return None
