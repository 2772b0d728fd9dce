"""Human rendering of a chain report with rich: one tree per overlay, one per bare erofs."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from kata_console.engine.chainmodel import (
    BAD_STATUSES,
    OK,
    ChainReport,
    DeviceHop,
    ErofsMount,
    Layer,
)

STYLE = {OK: "green", "relative": "yellow", "unresolvable": "yellow"}


def _status(status: str) -> Text:
    style = STYLE.get(status, "bold red" if status in BAD_STATUSES else "yellow")
    return Text(f"[{status}]", style=style)


def _device_label(hop: DeviceHop) -> Text:
    label = Text()
    name = f"/dev/{hop.name}" if hop.name else hop.kind
    label.append(f"{hop.kind} ", style="bold")
    label.append(name if hop.kind != "file" else "file-backed")
    extras = []
    if hop.majmin:
        extras.append(hop.majmin)
    if hop.offset:
        extras.append(f"offset={hop.offset}")
    if hop.autoclear is not None:
        extras.append(f"autoclear={int(hop.autoclear)}")
    if hop.ro is not None:
        extras.append("ro" if hop.ro else "rw")
    if hop.dm_name:
        extras.append(f"dm={hop.dm_name}")
    if hop.mount:
        extras.append(f"mounted at {hop.mount}")
    if extras:
        label.append(f" ({', '.join(extras)})", style="dim")
    return label


def _add_device(node: Tree, hop: DeviceHop | None) -> None:
    while hop is not None:
        node = node.add(_device_label(hop))
        for slave in hop.slaves:
            _add_device(node, slave)
        if hop.backing_file:
            f = Text("file ")
            f.append(hop.backing_file, style="cyan")
            if hop.deleted:
                f.append(" (deleted)", style="bold red")
            if hop.symlink_target:
                f.append(f" -> {hop.symlink_target}", style="dim")
            if hop.inode is not None:
                f.append(f"  ino {hop.inode} on {hop.backing_majmin}", style="dim")
            f.append(" ")
            f.append_text(_status(hop.status))
            node = node.add(f)
            if hop.reason:
                node.add(Text(hop.reason, style="italic"))
        elif hop.reason:
            node.add(Text(f"{hop.status}: {hop.reason}", style="italic red"))
        hop = hop.parent


def _layer_label(layer: Layer) -> Text:
    t = Text(f"{layer.role} {layer.index} ", style="bold")
    t.append(layer.path)
    t.append(" ")
    t.append_text(_status(layer.status))
    if layer.snapshot:
        t.append(f"  snapshot {layer.snapshot.id} ({layer.snapshot.role})", style="magenta")
    if layer.activation:
        a = layer.activation
        t.append(f"  activation t/{a['id']}/{a['n']} {a.get('type') or ''}", style="magenta")
    return t


def print_report(report: ChainReport, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    for chain in report.chains:
        head = Text("overlay ", style="bold")
        head.append(chain.target, style="bold cyan")
        head.append(f"  (mount {chain.mount_id}, source {chain.source}) ")
        head.append_text(_status(chain.status))
        if chain.bundle:
            head.append(
                f"  bundle {chain.bundle['namespace']}/{chain.bundle['id']}", style="magenta"
            )
        tree = Tree(head)
        for layer in chain.layers:
            node = tree.add(_layer_label(layer))
            if layer.source is not None:
                node_m = node.add(Text(f"{layer.fstype} {layer.source} ({layer.majmin})"))
                _add_device(node_m, layer.device)
            if layer.reason and not layer.device:
                node.add(Text(layer.reason, style="italic"))
        if chain.erofs:
            verdict = Text("kata: ", style="bold")
            verdict.append(
                chain.kata_verdict or "accepted (every lower resolves to layer.erofs)",
                style="bold red" if chain.kata_verdict else "green",
            )
            tree.add(verdict)
        console.print(tree)
    covered = {la.path for c in report.chains for la in c.layers}
    bare = [e for e in report.erofs_mounts if e.target not in covered]
    if bare:
        tree = Tree(Text("erofs mounts with no overlay above them", style="bold"))
        for em in bare:
            _add_erofs(tree, em)
        console.print(tree)
    if not report.chains and not report.erofs_mounts:
        console.print("no overlay or erofs mounts")
    for warning in report.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))


def _add_erofs(tree: Tree, em: ErofsMount) -> None:
    t = Text(em.target, style="cyan")
    t.append(f"  erofs {em.source} ({em.majmin}) ")
    t.append_text(_status(em.status))
    if em.snapshot:
        t.append(f"  snapshot {em.snapshot.id} ({em.snapshot.role})", style="magenta")
    _add_device(tree.add(t), em.device)
