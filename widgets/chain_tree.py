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

from kata_console.engine.chainmodel import BAD_STATUSES, OK, Chain, DeviceHop, ErofsMount, Layer

_STATUS_STYLE = {OK: "green", "relative": "yellow", "unresolvable": "yellow"}


def status_text(status: str) -> Text:
    """`[ok]` in green, `[deleted]` in bold red ..."""
    style = _STATUS_STYLE.get(status, "bold red" if status in BAD_STATUSES else "yellow")
    return Text(f"[{status}]", style=style)


def verdict_text(chain: Chain) -> Text:
    """Kata's verdict line: accepted, or the exact error Kata would fail with."""
    text = Text("kata: ", style="bold")
    if not chain.erofs:
        text.append("not an EROFS rootfs: shared with the guest as a directory", style="dim")
    elif chain.kata_verdict:
        text.append(chain.kata_verdict, style="bold red")
    else:
        text.append("accepted (every lower resolves to layer.erofs)", style="green")
    return text


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
        head = Text("overlay ", style="bold")
        head.append(chain.target, style="bold cyan")
        head.append(" ")
        head.append_text(status_text(chain.status))
        if chain.bundle:
            head.append(f"  {chain.bundle['namespace']}/{chain.bundle['id']}", style="magenta")
        node = parent.add(head, data=chain)
        for layer in chain.layers:
            self._add_layer(node, layer)
        node.add_leaf(verdict_text(chain))

    def _add_layer(self, parent: TreeNode[object], layer: Layer) -> None:
        label = Text(f"{layer.role} {layer.index} ", style="bold")
        label.append(layer.path)
        label.append(" ")
        label.append_text(status_text(layer.status))
        if layer.snapshot:
            label.append(f"  snapshot {layer.snapshot.id} ({layer.snapshot.role})", style="magenta")
        node = parent.add(label, data=layer)
        if layer.source is not None:
            mount = Text(f"{layer.fstype} ", style="bold")
            mount.append(f"{layer.source} ({layer.majmin})")
            self._add_device(node.add(mount, data=layer), layer.device)
        if layer.reason and not layer.device:
            node.add_leaf(Text(layer.reason, style="italic red"))
        if layer.kata_error:
            node.add_leaf(Text(f"kata: {layer.kata_error}", style="bold red"))

    def _add_erofs(self, parent: TreeNode[object], em: ErofsMount) -> None:
        label = Text(em.target, style="cyan")
        label.append(f"  erofs {em.source} ({em.majmin}) ")
        label.append_text(status_text(em.status))
        if em.snapshot:
            label.append(f"  snapshot {em.snapshot.id} ({em.snapshot.role})", style="magenta")
        self._add_device(parent.add(label, data=em), em.device)

    def _add_device(self, node: TreeNode[object], hop: DeviceHop | None) -> None:
        while hop is not None:
            node = node.add(_hop_label(hop), data=hop)
            for slave in hop.slaves:
                self._add_device(node, slave)
            if hop.backing_file:
                node = node.add(_file_label(hop), data=hop)
                if hop.reason:
                    node.add_leaf(Text(hop.reason, style="italic red"))
            elif hop.reason:
                node.add_leaf(Text(f"{hop.status}: {hop.reason}", style="italic red"))
            hop = hop.parent


def _hop_label(hop: DeviceHop) -> Text:
    label = Text(f"{hop.kind} ", style="bold")
    label.append(f"/dev/{hop.name}" if hop.name and hop.kind != "file" else "file-backed")
    extras = [x for x in (hop.majmin, f"offset={hop.offset}" if hop.offset else None) if x]
    if hop.ro is not None:
        extras.append("ro" if hop.ro else "rw")
    if hop.dm_name:
        extras.append(f"dm={hop.dm_name}")
    if extras:
        label.append(f" ({', '.join(extras)})", style="dim")
    return label


def _file_label(hop: DeviceHop) -> Text:
    label = Text("file ", style="bold")
    label.append(hop.backing_file or "", style="cyan")
    if hop.deleted:
        label.append(" (deleted)", style="bold red")
    if hop.inode is not None:
        label.append(f"  ino {hop.inode}", style="dim")
    label.append(" ")
    label.append_text(status_text(hop.status))
    return label
