"""The footer, fitted to the terminal's width.

Textual's footer lists keys in binding-chain order and lets the row run off the right
edge, so at 80 columns the view's own keys (stop, delete) were cut mid-word behind the
keys every view shares. Here the view's own keys come first, then the focused pane's, then
`?` (which lists every key), then the shared ones (back, jump, quit); when narrow the
footer is compact and leaves out the palette key; a key that still does not fit is left
out whole, the shared ones first, then the pane's, and `?` last, instead of being cut.
While a text prompt has focus only its own keys are listed (Esc cancels it): the others
would be typed into it.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.actions import parse as parse_action
from textual.app import ComposeResult
from textual.screen import ModalScreen
from textual.widgets import Footer, Input
from textual.widgets._footer import FooterKey

#: below this width the footer is compact and the palette key (ctrl+p) is left out
COMPACT_BELOW = 100
#: actions every view shares, in the order they are left out when the row is too long
SHARED = ("quit", "jump", "back")
#: the key that lists every other one: the last to be left out
HELP = "help"


def _rank(key: FooterKey, own: set[str]) -> int:
    """Display order: the view's own keys (0), the focused pane's (1), `?` (2), the shared
    keys (3). `own`: the actions the screen itself binds."""
    if key.action == HELP:
        return 2
    if key.action in SHARED:
        return 3
    return 0 if key.action in own else 1


class KeyFooter(Footer):
    """A footer that never cuts a key: view keys first, shared keys left out first."""

    _shown: tuple[object, ...] | None = None

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        keys = [w for w in widgets if isinstance(w, FooterKey)]
        prompt = self._prompt_actions()
        if prompt is not None:  # typing goes to the prompt: only its own keys apply
            keys = [w for w in keys if w.action in prompt]
            widgets = [w for w in widgets if not isinstance(w, FooterKey) or w in keys]
        keys = _one_per_action(keys)
        widgets = [w for w in widgets if not isinstance(w, FooterKey) or w in keys]
        palette = [w for w in keys if w.has_class("-command-palette")]
        own = self._own_actions()
        ordered = sorted((w for w in keys if w not in palette), key=lambda w: _rank(w, own))
        others = [w for w in widgets if not isinstance(w, FooterKey)]
        yield from ordered
        yield from others
        yield from palette

    def on_resize(self, event: events.Resize) -> None:
        narrow = event.size.width < COMPACT_BELOW
        if narrow != self.compact or narrow == self.show_command_palette:
            self.compact = narrow
            self.show_command_palette = not narrow
            self.refresh(recompose=True)
        else:
            self.call_after_refresh(self._fit)

    def on_mount(self) -> None:
        narrow = self.app.size.width < COMPACT_BELOW
        self.set_reactive(Footer.compact, narrow)
        self.set_class(narrow, "-compact")
        self.set_reactive(Footer.show_command_palette, not narrow)

    async def recompose(self) -> None:
        # Textual recomposes on every focus change; rebuilding identical keys cost 0.4 s
        # per Tab on a busy screen, so an unchanged row is kept as it is
        shown = self._signature()
        if shown is not None and shown == self._shown and self.children:
            return
        await super().recompose()
        self._shown = shown
        self.call_after_refresh(self._fit)

    def _signature(self) -> tuple[object, ...] | None:
        """What the row would show: each key's name, label, action and state (None: the
        bindings are not ready to be read yet)."""
        try:
            keys = [w for w in self.compose() if isinstance(w, FooterKey)]
        except Exception:  # not on a screen yet
            return None
        row = tuple(
            (
                w.key,
                w.key_display,
                w.description,
                w.action,
                w.has_class("-disabled"),
                str(w.tooltip),
            )
            for w in keys
        )
        return (self.compact, self.show_command_palette, row)

    def _fit(self) -> None:
        """Leave out whole keys, lowest priority first, until the rest fit the width."""
        keys = list(self.query_children(FooterKey))
        palette = [w for w in keys if w.has_class("-command-palette")]
        keys = [w for w in keys if w not in palette]
        room = self.size.width - sum(_cells(w) for w in palette)
        needed = sum(_cells(w) for w in keys)
        left_out: set[FooterKey] = set()
        own = self._own_actions()
        # shared keys first, then the pane's and the view's from the right; `?` last
        order = sorted(enumerate(keys), key=lambda pair: (-_DROP[_rank(pair[1], own)], -pair[0]))
        for _, key in order:
            if needed <= room:
                break
            left_out.add(key)
            needed -= _cells(key)
        for key in keys:
            key.display = key not in left_out

    def _prompt_actions(self) -> set[str] | None:
        """The actions of the focused text prompt (None: no prompt has focus)."""
        try:
            focused = self.screen.focused
            active = self.screen.active_bindings
        except Exception:  # not on a screen yet
            return None
        if not isinstance(focused, Input):
            return None
        # a modal prompt's own keys (Tab completes) are the prompt's too
        own = (focused, self.screen) if isinstance(self.screen, ModalScreen) else (focused,)
        return {b.binding.action for b in active.values() if b.node in own}

    def _own_actions(self) -> set[str]:
        """The actions the screen binds itself (not its focused pane, not the app)."""
        try:
            active = self.screen.active_bindings
        except Exception:  # not on a screen yet
            return set()
        return {b.binding.action for b in active.values() if b.node is self.screen}


def _one_per_action(keys: list[FooterKey]) -> list[FooterKey]:
    """The first key of each action, whatever its parameter: a pane binds each of its
    keys with the key as parameter (the log pane's `p` and `Z`), so that a view can take
    one of them; Textual's footer groups keys by the whole action string."""
    seen: set[str] = set()
    out = []
    for key in keys:
        _, name, _ = parse_action(key.action)
        if name in seen:
            continue
        seen.add(name)
        out.append(key)
    return out


#: rank (`_rank`) -> how early a key of that rank is left out (higher: earlier)
_DROP = {3: 3, 1: 2, 0: 1, 2: 0}


def _cells(key: FooterKey) -> int:
    """Columns a key takes in the row: its text, padding and border (the palette key's
    `▏`), and margins; computed, so a key left out earlier is measured too."""
    margin = key.styles.margin
    return cell_len(key.render().plain) + key.styles.gutter.width + margin.left + margin.right
