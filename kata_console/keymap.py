"""Keymaps: which key names exist, which rebindings would lock the operator in, and the
keys a binding has right now.

A keymap is checked before the console starts, because a typo there fails silently
inside Textual: an unknown key name is a binding that can never fire, and a key moved
onto `q` or `escape` takes away quit or the way out of a view. Both are refused with one
line naming the binding. The check works on a table of every binding (id, keys, where it
lives), built from the classes by the CLI, so it needs no running app.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.binding import Binding, BindingsMap
from textual.keys import _character_to_key

if TYPE_CHECKING:
    from textual.dom import DOMNode

#: modifiers in the order Textual spells them in key names (alphabetical)
MODIFIERS = ("alt", "ctrl", "hyper", "meta", "shift", "super")
#: keys that are not characters
NAMED_KEYS = frozenset(
    {
        "backspace",
        "delete",
        "down",
        "end",
        "enter",
        "escape",
        "home",
        "insert",
        "left",
        "pagedown",
        "pageup",
        "right",
        "space",
        "tab",
        "up",
        *(f"f{n}" for n in range(1, 25)),
    }
)
#: the names Textual gives printable ASCII characters (`question_mark`, `slash`, ...)
CHARACTER_NAMES = frozenset(
    _character_to_key(c) for c in string.printable if c.isprintable() and not c.isspace()
)

#: where a binding lives; a nearer binding takes a key from a farther one
WIDGET, SCREEN, APP = 0, 1, 2
#: the views (the console's screens and their widgets) share one key space; the app's
#: bindings are in every binding chain
VIEWS, ANYWHERE = "views", "*"

#: bindings that are the way out of somewhere: id -> what taking all their keys takes away
LEAVE_BINDINGS: dict[str, str] = {
    "app.quit": "quit",
    "nav.back": "the way back",
    "help.close": "closing the help",
    "confirm.no": "cancelling a confirmation",
    "prompt.cancel": "closing a prompt",
    "device.close": "closing the device view",
}
#: leave bindings that live in a text prompt, where a plain character is typed instead
IN_PROMPT = frozenset({"prompt.cancel"})


@dataclass(frozen=True, slots=True)
class BindingSpec:
    """One binding as the keymap check sees it."""

    id: str
    keys: tuple[str, ...]
    level: int
    group: str
    owner: str
    priority: bool = False


# ---------------------------------------------------------------------- key names


def normalize_key(key: str) -> str:
    """A key as Textual names it: `?` -> `question_mark`, modifiers in Textual's order.
    ValueError with the reason when it is no key a terminal can send."""
    text = key.strip()
    if not text:
        raise ValueError("an empty key")
    if len(text) == 1:
        return _character(text)
    parts = text.split("+")
    if text.endswith("+"):  # `ctrl++` is ctrl and the plus key
        parts = [*text[:-2].split("+"), "plus"] if text.endswith("++") else parts
    *mods, base = parts
    for mod in mods:
        if mod not in MODIFIERS:
            raise ValueError(f"{mod!r} is not a modifier (one of {', '.join(MODIFIERS)})")
    if len(set(mods)) != len(mods):
        raise ValueError("a modifier is given twice")
    if not base:
        raise ValueError("the key after the modifiers is missing")
    if len(base) == 1:
        if mods == ["shift"]:
            raise ValueError(f"shift+{base} arrives as the character itself: write it alone")
        if mods and base.isalpha() and base.isupper():
            raise ValueError(f"write the letter in lower case after a modifier ({base.lower()})")
        base = _character(base)
    elif base not in NAMED_KEYS and base not in CHARACTER_NAMES:
        raise ValueError(f"{base!r} is not a key name (e.g. x, ctrl+x, f2, escape, question_mark)")
    ordered = sorted(mods, key=MODIFIERS.index)
    return "+".join([*ordered, base])


def _character(char: str) -> str:
    if not char.isprintable() or char.isspace():
        raise ValueError(f"{char!r} cannot be typed")
    try:
        char.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{char!r} cannot be typed") from None
    return _character_to_key(char)


def normalize_keys(keys: str) -> str:
    """A comma-separated key list, each key normalized (ValueError naming the bad one)."""
    out = []
    for key in keys.split(","):
        try:
            out.append(normalize_key(key))
        except ValueError as exc:
            raise ValueError(f"{key.strip()!r} is not a key: {exc}") from None
    return ",".join(out)


# ---------------------------------------------------------------------- lock-outs


def keymap_problem(keymap: Mapping[str, str], table: Iterable[BindingSpec]) -> str | None:
    """Why this (normalized) keymap cannot be used, naming the binding; None if it can.

    Refused: a leave binding (quit, back, close) whose every key the keymap gives to a
    binding that wins over it (nearer, or a priority binding), or moves onto a key
    such a binding already holds; a way out of a prompt that is a plain character (the
    prompt types it); two bindings of one view given the same key.
    """
    specs = [_with_keymap(spec, keymap) for spec in table]
    by_id: dict[str, list[BindingSpec]] = {}
    for spec in specs:
        by_id.setdefault(spec.id, []).append(spec)
    for leave_id, what in LEAVE_BINDINGS.items():
        for leave in by_id.get(leave_id, ()):
            if leave_id in IN_PROMPT and leave_id in keymap:
                typed = [k for k in leave.keys if len(k) == 1 or k in CHARACTER_NAMES]
                if typed:
                    return f"{leave_id}: {typed[0]!r} would be typed into the prompt"
            takers = [_taker(leave, key, specs, keymap) for key in leave.keys]
            if leave.keys and all(takers):
                key, thief = leave.keys[0], takers[0]
                assert thief is not None
                if thief.id in keymap:  # moved onto the leave binding's last key
                    return f"{thief.id}: {key!r} would take away {what} ({leave_id})"
                # the leave binding moved onto a key that a binding nearer to the focus
                # (or a priority one) holds: there the key runs that, and the way out
                # is left with no key
                return (
                    f"{leave_id}: {key!r} is already {thief.id}'s key in {thief.owner}, "
                    f"which runs first: {what} would have no key there"
                )
    return _clash(specs, keymap)


def _with_keymap(spec: BindingSpec, keymap: Mapping[str, str]) -> BindingSpec:
    keys = keymap.get(spec.id)
    if keys is None:
        return spec
    return BindingSpec(
        spec.id, tuple(keys.split(",")), spec.level, spec.group, spec.owner, spec.priority
    )


def _shares_keys(leave: BindingSpec, other: BindingSpec) -> bool:
    """Whether the two can be in one binding chain. The app's bindings are in every one;
    quit matters in the views (a modal is left by its own close key)."""
    if leave.group == ANYWHERE:
        return other.group in (VIEWS, ANYWHERE)
    return other.group in (leave.group, ANYWHERE)


def _taker(
    leave: BindingSpec, key: str, specs: list[BindingSpec], keymap: Mapping[str, str]
) -> BindingSpec | None:
    """The binding that gets `key` before `leave` does, when the keymap made it so."""
    for other in specs:
        if other.id == leave.id or key not in other.keys:
            continue
        if other.id not in keymap and leave.id not in keymap:
            continue  # the console's own defaults are laid out on purpose
        if _shares_keys(leave, other) and (other.priority or other.level <= leave.level):
            return other
    return None


def _clash(specs: list[BindingSpec], keymap: Mapping[str, str]) -> str | None:
    """Two bindings of one class on the same key, one of them moved there by the keymap."""
    seen: dict[tuple[str, str], BindingSpec] = {}
    for spec in specs:
        for key in spec.keys:
            first = seen.setdefault((spec.owner, key), spec)
            if first.id != spec.id and (spec.id in keymap or first.id in keymap):
                moved = spec if spec.id in keymap else first
                other = first if moved is spec else spec
                return f"{moved.id}: {key!r} is already {other.id}'s key in {spec.owner}"
    return None


# ---------------------------------------------------------------------- live keys


def live_bindings(node: DOMNode) -> BindingsMap:
    """The node's own bindings with the app's keymap applied (what a key does now)."""
    bindings = node._bindings.copy()
    keymap = getattr(node.app, "_keymap", None)
    if keymap:
        bindings.apply_keymap(keymap)
    return bindings


def keys_for(node: DOMNode, action: str) -> list[str]:
    """The keys that run `action` on this node now (keymap applied), in binding order."""
    return [key for key, binding in live_bindings(node) if binding.action == action]


def binding_keys(node: DOMNode, binding_id: str) -> list[str]:
    """The keys of the binding with this id on this node now (keymap applied)."""
    return [key for key, binding in live_bindings(node) if binding.id == binding_id]


def typed_by_focus(node: DOMNode, action: str) -> bool:
    """A text input has focus and every key of `action` here is a character it types:
    the key cannot run the action then, so the binding is not offered. (Textual leaves
    `/`, `\\`, `-`, `+`, `@` and `_` in the footer while an input has focus.)"""
    from textual.widgets import Input

    if not isinstance(node.screen.focused, Input):
        return False
    keys = keys_for(node, action)
    return bool(keys) and all(len(k) == 1 or k in CHARACTER_NAMES or k == "space" for k in keys)


def priority_keys(node: DOMNode) -> set[str]:
    """Keys the node binds with priority (they win wherever focus is)."""
    return {key for key, binding in live_bindings(node) if binding.priority}


def specs_of(owner: type, bindings: Iterable[Binding], level: int, group: str) -> list[BindingSpec]:
    """The specs of one class's own BINDINGS (ids only: a keymap cannot reach the rest)."""
    out: dict[str, BindingSpec] = {}
    for binding in Binding.make_bindings(bindings):
        if not binding.id:
            continue
        old = out.get(binding.id)
        keys = (*old.keys, binding.key) if old else (binding.key,)
        out[binding.id] = BindingSpec(
            binding.id, keys, level, group, owner.__name__, binding.priority
        )
    return list(out.values())
