"""The rootfs chain as a tree: overlay -> layer -> erofs mount -> loop/file -> backing file.

Every hop carries its status colour and, when it is not fine, the reason on a child line;
the last node is Kata's verdict for the whole rootfs. A hop's badge comes before its path
(`lower 0 [ok] /var/lib/...`): paths are longer than any terminal is wide and the tree does
not wrap, so after the path the verdict would be off-screen. Same reading order as
`kata-console chains`, built for a Tree widget (expandable, cursor, no wrapping). `/`
filters: an overlay or erofs mount stays when any of its lines matches (a regex), and
only the branches down to the matching lines are kept; `!` keeps the ones with none.
"""

from __future__ import annotations

import re

from rich.text import Text
from textual.binding import Binding
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from kata_console.chaintext import (
    erofs_label,
    file_label,
    hop_label,
    layer_label,
    mount_label,
    overlay_label,
    reason_text,
    verdict_text,
)
from kata_console.engine.mounts.chainmodel import Chain, DeviceHop, ErofsMount, Layer
from widgets.filter_prompt import FilterPrompt
from widgets.row_query import RowFilter, compile_filter


class ChainTree(Tree[object]):
    """One or more chains (and bare erofs mounts) as an expanded tree.

    | Key | Description |
    | :- | :- |
    | e | Expand every node. |
    | E | Collapse to the layers. |
    | / | Filter the chains (the screen's `FilterPrompt`). |
    """

    BINDINGS = [
        Binding("e", "expand_all", "Expand", id="chain.expand"),
        Binding("E", "collapse_layers", "Collapse", id="chain.collapse"),
        Binding("slash", "filter", "Filter", id="chain.filter", key_display="/", show=False),
    ]

    #: what the filter counts
    noun = "chains"

    DEFAULT_CSS = """
    ChainTree {
        height: 1fr;
        background: $surface;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(Text("rootfs", style="bold"), id=id, classes=classes)
        self.show_root = False
        self.guide_depth = 2
        self._chains_shown: tuple[list[Chain], list[ErofsMount], str] = ([], [], "no rootfs chain")
        self._filter: RowFilter = compile_filter("")
        self._total = 0
        #: node id -> (what, path): what `y` copies on that line
        self._paths: dict[int, tuple[str, str]] = {}

    # ------------------------------------------------------------------ public API

    @property
    def filter(self) -> str:
        """The active filter term ("" = none)."""
        return self._filter.term

    @property
    def total(self) -> int:
        """Overlays and erofs mounts the tree holds, shown or filtered out."""
        return self._total

    def show_chains(
        self,
        chains: list[Chain],
        bare: list[ErofsMount] | None = None,
        empty: str = "no rootfs chain",
    ) -> None:
        """Replace the tree with these chains (and erofs mounts no overlay uses)."""
        self._chains_shown = (list(chains), list(bare or ()), empty)
        self._total = len(chains) + len(bare or ())
        self._rebuild()

    def set_filter(self, term: str) -> int:
        """Keep the chains with a line matching `term` (a regex, `!` inverts); returns how
        many are shown. A bad regex raises `FilterError` and the previous filter stays."""
        self._filter = compile_filter(term)
        return self._rebuild()

    def selected_path(self) -> tuple[str, str] | None:
        """(what, path) of the line under the cursor, or of the nearest line above it that
        has one (a reason line copies its hop's path): mountpoint, device, backing file."""
        node = self.cursor_node
        while node is not None:
            if node.id in self._paths:
                return self._paths[node.id]
            node = node.parent
        return None

    def action_filter(self) -> None:
        # opened at once, not through the message queue: keys typed right after `/`
        # are already queued behind it and belong to the prompt
        prompts = self.screen.query(FilterPrompt)
        if prompts:
            prompts.first().open_for(self)
        else:
            self.post_message(FilterPrompt.Requested(self))

    def action_expand_all(self) -> None:
        self.root.expand_all()

    def action_collapse_layers(self) -> None:
        for top in self.root.children:
            for child in top.children:
                child.collapse_all()

    # ------------------------------------------------------------------ helpers

    def _rebuild(self) -> int:
        chains, bare, empty = self._chains_shown
        self.clear()
        self._paths.clear()
        shown = 0
        for chain in chains:
            shown += self._kept(self._add_chain(self.root, chain))
        if bare:
            node = self.root.add(Text("erofs mounts with no overlay above them", style="bold"))
            for em in bare:
                shown += self._kept(self._add_erofs(node, em))
            if not node.children:
                node.remove()
        if not chains and not bare:
            self.root.add_leaf(Text(empty, style="dim italic"))
        elif not shown:
            self.root.add_leaf(Text(f"nothing matches /{self.filter}", style="dim italic"))
        self.root.expand_all()
        self.cursor_line = 0
        return shown

    def _kept(self, node: TreeNode[object]) -> bool:
        """Prune one overlay or erofs mount to the filter; False: it was removed."""
        rule = self._filter
        if rule.pattern is None:
            return True
        if rule.inverse:  # drop a whole entry that has any matching line
            if _any_hit(node, rule.pattern):
                node.remove()
                return False
            return True
        if not _prune(node, rule):
            node.remove()
            return False
        return True

    def _add_chain(self, parent: TreeNode[object], chain: Chain) -> TreeNode[object]:
        node = parent.add(overlay_label(chain, badge_first=True), data=chain)
        self._paths[node.id] = ("rootfs mountpoint", chain.target)
        for layer in chain.layers:
            self._add_layer(node, layer)
        node.add_leaf(verdict_text(chain))
        return node

    def _add_layer(self, parent: TreeNode[object], layer: Layer) -> None:
        node = parent.add(layer_label(layer, badge_first=True), data=layer)
        self._paths[node.id] = (f"{layer.role} layer", layer.path)
        if layer.source is not None:
            mount = node.add(mount_label(layer), data=layer)
            self._paths[mount.id] = ("mount source", layer.source)
            self._add_device(mount, layer.device)
        if layer.reason and not layer.device:
            node.add_leaf(Text(layer.reason, style="italic red"))
        if layer.kata_error:
            node.add_leaf(Text(f"kata: {layer.kata_error}", style="bold red"))

    def _add_erofs(self, parent: TreeNode[object], em: ErofsMount) -> TreeNode[object]:
        node = parent.add(erofs_label(em, badge_first=True), data=em)
        self._paths[node.id] = ("erofs mountpoint", em.target)
        self._add_device(node, em.device)
        return node

    def _add_device(self, node: TreeNode[object], hop: DeviceHop | None) -> None:
        while hop is not None:
            node = node.add(hop_label(hop), data=hop)
            if hop.name and hop.kind != "file":
                self._paths[node.id] = (f"{hop.kind} device", f"/dev/{hop.name}")
            for slave in hop.slaves:
                self._add_device(node, slave)
            if hop.backing_file:
                node = node.add(file_label(hop, badge_first=True), data=hop)
                self._paths[node.id] = ("backing file", hop.backing_file)
            reason = reason_text(hop)
            if reason is not None:
                node.add_leaf(reason)
            hop = hop.parent


def _label(node: TreeNode[object]) -> str:
    label = node.label
    return label.plain if isinstance(label, Text) else str(label)


def _any_hit(node: TreeNode[object], pattern: re.Pattern[str]) -> bool:
    """Whether this line or one under it contains the pattern (before any inversion)."""
    return bool(pattern.search(_label(node))) or any(_any_hit(c, pattern) for c in node.children)


def _prune(node: TreeNode[object], rule: RowFilter) -> bool:
    """Keep a matching line with everything under it, and a line on the way to one."""
    if rule.matches([_label(node)]):
        return True
    kept = False
    for child in list(node.children):
        if _prune(child, rule):
            kept = True
        else:
            child.remove()
    return kept
