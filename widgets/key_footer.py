"""The footer, fitted to the terminal's width.

Textual's footer lists keys in binding-chain order and lets the row run off the right
edge, so at 80 columns the view's own keys (stop, delete) were cut mid-word behind the
keys every view shares. Here the view's and the focused pane's keys come first, then `?`
(which lists every key), then the shared ones (back, jump, quit); when narrow the footer
is compact and leaves out the palette key; a key that still does not fit is left out
whole, the shared ones first and `?` last, instead of being cut.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: below this width the footer is compact and the palette key (ctrl+p) is left out
COMPACT_BELOW = 100
#: actions every view shares, in the order they are left out when the row is too long
SHARED = ("quit", "jump", "back")
#: the key that lists every other one: the last to be left out
HELP = "help"


def _rank(key: FooterKey) -> int:
    """Display order: the view's own keys (0), `?` (1), the shared keys (2)."""
    if key.action == HELP:
        return 1
    return 2 if key.action in SHARED else 0


class KeyFooter(Footer):
    """A footer that never cuts a key: view keys first, shared keys left out first."""

    def compose(self) -> ComposeResult:
        widgets = list(super().compose())
        keys = [w for w in widgets if isinstance(w, FooterKey)]
        palette = [w for w in keys if w.has_class("-command-palette")]
        ordered = sorted((w for w in keys if w not in palette), key=_rank)
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
        await super().recompose()
        self.call_after_refresh(self._fit)

    def _fit(self) -> None:
        """Leave out whole keys, lowest priority first, until the rest fit the width."""
        keys = list(self.query_children(FooterKey))
        palette = [w for w in keys if w.has_class("-command-palette")]
        keys = [w for w in keys if w not in palette]
        room = self.size.width - sum(_cells(w) for w in palette)
        needed = sum(_cells(w) for w in keys)
        left_out: set[FooterKey] = set()
        # shared keys first, then the view's from the right; `?` last
        for _, key in sorted(enumerate(keys), key=lambda pair: (-_DROP[_rank(pair[1])], -pair[0])):
            if needed <= room:
                break
            left_out.add(key)
            needed -= _cells(key)
        for key in keys:
            key.display = key not in left_out


#: rank (`_rank`) -> how early a key of that rank is left out (higher: earlier)
_DROP = {2: 2, 0: 1, 1: 0}


def _cells(key: FooterKey) -> int:
    """Columns a key takes in the row: its text, padding and border (the palette key's
    `▏`), and margins; computed, so a key left out earlier is measured too."""
    margin = key.styles.margin
    return cell_len(key.render().plain) + key.styles.gutter.width + margin.left + margin.right
