"""Every overlay and erofs mount of the inspected host: `kata-console chains` as a view.

Resolving touches the host (sysfs, loop ioctls), so it runs in a worker; the view shows
a one-line summary of what is broken above the tree.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.widgets import Static

from kata_console.engine.mounts.chainmodel import BAD_STATUSES, ChainReport, ErofsMount
from kata_console.screens.resource import ResourceScreen
from widgets.chain_tree import ChainTree


def _count(n: int, noun: str) -> str:
    """`1 overlay`, `2 overlays`: a count says its unit in the right number."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def lone_mounts(report: ChainReport) -> list[ErofsMount]:
    """The erofs mounts no overlay stacks on: each is a chain of its own in the tree."""
    covered = {la.path for c in report.chains for la in c.layers}
    return [e for e in report.erofs_mounts if e.target not in covered]


def summary(report: ChainReport) -> str:
    """`4 chains: 2 overlays, 2 lone erofs mounts; 6 erofs mounts in all (1 deleted)`.

    It counts what the tree lists, in the filter's unit (`/`: "1 of 4 chains"): each
    overlay is a chain and so is each erofs mount no overlay uses; the erofs mounts under
    the overlays are then counted once more with those, where the deleted ones are said."""
    refused = sum(1 for c in report.chains if c.kata_verdict)
    bad: dict[str, int] = {}
    for em in report.erofs_mounts:
        if em.status in BAD_STATUSES:
            bad[em.status] = bad.get(em.status, 0) + 1
    lone = len(lone_mounts(report))
    text = f"{_count(len(report.chains) + lone, 'chain')}: {_count(len(report.chains), 'overlay')}"
    if refused:
        text += f" ({refused} refused by Kata)"
    text += f", {_count(lone, 'lone erofs mount')}"
    text += f"; {_count(len(report.erofs_mounts), 'erofs mount')} in all"
    if bad:
        text += " (" + ", ".join(f"{n} {s}" for s, n in sorted(bad.items())) + ")"
    return text + "".join(f"; warning: {w}" for w in report.warnings)


class ChainsScreen(ResourceScreen):
    """The host's chains."""

    crumbs = ("chains",)
    can_describe = False
    #: the last resolution (what ctrl+e exports: `chains --json`)
    report: ChainReport | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("resolving...", id="chains-summary")
        yield ChainTree(id="host-chains")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(ChainTree).border_title = "overlay and erofs mounts"
        self.query_one(ChainTree).focus()
        self.load()

    def action_reload(self) -> None:
        self.load()

    def selected_path(self) -> tuple[str, str] | None:
        return self.query_one(ChainTree).selected_path()

    def export_data(self) -> tuple[str, str, Any] | None:
        if self.report is None:
            return None
        return ("every chain (chains --json)", "chains", self.report.to_dict())

    @work(exclusive=True, group="chains", exit_on_error=False)
    async def load(self) -> None:
        try:
            report = await self.kc.source.chains()
        except Exception as exc:  # any failure is a status line, never a traceback
            self.query_one("#chains-summary", Static).update("")
            self.kc.report_error(f"cannot resolve chains: {exc}")
            return
        self.report = report
        self.query_one(ChainTree).show_chains(
            report.chains, lone_mounts(report), empty="no overlay or erofs mounts"
        )
        self.query_one("#chains-summary", Static).update(summary(report))
