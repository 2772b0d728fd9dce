"""Human rendering of a chain report with rich: one tree per overlay, one per bare erofs."""

from __future__ import annotations

import sys

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

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
from kata_console.engine.mounts.chainmodel import ChainReport, DeviceHop


def _add_device(node: Tree, hop: DeviceHop | None) -> None:
    while hop is not None:
        node = node.add(hop_label(hop))
        for slave in hop.slaves:
            _add_device(node, slave)
        if hop.backing_file:
            node = node.add(file_label(hop))
        reason = reason_text(hop)
        if reason is not None:
            node.add(reason)
        hop = hop.parent


class _PipeConsole(Console):
    """A closed pipe is the reader's choice (`| head`), not a failure: rich's own handler
    exits 1, so hand the BrokenPipeError to the CLI, which exits 0."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def print_report(report: ChainReport, console: Console | None = None) -> None:
    if console is None:
        # Piped output must not cut paths at 80 columns: grep and copy-paste need them whole.
        piped = not sys.stdout.isatty()
        console = _PipeConsole(highlight=False, width=10_000 if piped else None)
    for chain in report.chains:
        tree = Tree(overlay_label(chain))
        for layer in chain.layers:
            node = tree.add(layer_label(layer))
            if layer.source is not None:
                _add_device(node.add(mount_label(layer)), layer.device)
            if layer.reason and not layer.device:
                node.add(Text(layer.reason, style="italic"))
        if chain.erofs:
            tree.add(verdict_text(chain))
        console.print(tree)
    covered = {la.path for c in report.chains for la in c.layers}
    bare = [e for e in report.erofs_mounts if e.target not in covered]
    if bare:
        tree = Tree(Text("erofs mounts with no overlay above them", style="bold"))
        for em in bare:
            _add_device(tree.add(erofs_label(em)), em.device)
        console.print(tree)
    if not report.chains and not report.erofs_mounts:
        console.print("no overlay or erofs mounts")
    for warning in report.warnings:
        console.print(Text(f"warning: {warning}", style="yellow"))
