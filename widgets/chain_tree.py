"""The rootfs chain as a tree: overlay -> layer -> erofs mount -> loop/file -> backing file.

Every hop carries its status colour and, when it is not fine, the reason on a child line;
the last node is Kata's verdict for the whole rootfs. Same reading order as
`kata-console chains`, built for a Tree widget (expandable, cursor, no wrapping).
"""

from __future__ import annotations

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


class ChainTree(Tree[object]):
    """One or more chains (and bare erofs mounts) as an expanded tree.

    | Key | Description |
    | :- | :- |
    | e | Expand every node. |
    | E | Collapse to the layers. |
    """

    BINDINGS = [
        Binding("e", "expand_all", "Expand", id="chain.expand"),
        Binding("E", "collapse_layers", "Collapse", id="chain.collapse"),
    ]

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

    # ------------------------------------------------------------------ public API

    def show_chains(
        self,
        chains: list[Chain],
        bare: list[ErofsMount] | None = None,
        empty: str = "no rootfs chain",
    ) -> None:
        """Replace the tree with these chains (and erofs mounts no overlay uses)."""
        self.clear()
        for chain in chains:
            self._add_chain(self.root, chain)
        if bare:
            node = self.root.add(Text("erofs mounts with no overlay above them", style="bold"))
            for em in bare:
                self._add_erofs(node, em)
        if not chains and not bare:
            self.root.add_leaf(Text(empty, style="dim italic"))
        self.root.expand_all()
        self.cursor_line = 0

    def action_expand_all(self) -> None:
        self.root.expand_all()

    def action_collapse_layers(self) -> None:
        for top in self.root.children:
            for child in top.children:
                child.collapse_all()

    # ------------------------------------------------------------------ helpers

    def _add_chain(self, parent: TreeNode[object], chain: Chain) -> None:
        node = parent.add(overlay_label(chain), data=chain)
        for layer in chain.layers:
            self._add_layer(node, layer)
        node.add_leaf(verdict_text(chain))

    def _add_layer(self, parent: TreeNode[object], layer: Layer) -> None:
        node = parent.add(layer_label(layer), data=layer)
        if layer.source is not None:
            self._add_device(node.add(mount_label(layer), data=layer), layer.device)
        if layer.reason and not layer.device:
            node.add_leaf(Text(layer.reason, style="italic red"))
        if layer.kata_error:
            node.add_leaf(Text(f"kata: {layer.kata_error}", style="bold red"))

    def _add_erofs(self, parent: TreeNode[object], em: ErofsMount) -> None:
        self._add_device(parent.add(erofs_label(em), data=em), em.device)

    def _add_device(self, node: TreeNode[object], hop: DeviceHop | None) -> None:
        while hop is not None:
            node = node.add(hop_label(hop), data=hop)
            for slave in hop.slaves:
                self._add_device(node, slave)
            if hop.backing_file:
                node = node.add(file_label(hop), data=hop)
            reason = reason_text(hop)
            if reason is not None:
                node.add_leaf(reason)
            hop = hop.parent
