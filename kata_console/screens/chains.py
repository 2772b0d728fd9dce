"""Every overlay and erofs mount of the inspected host: `kata-console chains` as a view.

Resolving touches the host (sysfs, loop ioctls), so it runs in a worker; the view shows
a one-line summary of what is broken above the tree.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.widgets import Static

from kata_console.engine.mounts.chainmodel import BAD_STATUSES, ChainReport
from kata_console.screens.resource import ResourceScreen
from widgets.chain_tree import ChainTree


def summary(report: ChainReport) -> str:
    """`4 overlays (2 refused by Kata), 6 erofs mounts (1 deleted)`."""
    refused = sum(1 for c in report.chains if c.kata_verdict)
    bad: dict[str, int] = {}
    for em in report.erofs_mounts:
        if em.status in BAD_STATUSES:
            bad[em.status] = bad.get(em.status, 0) + 1
    text = f"{len(report.chains)} overlay(s)"
    if refused:
        text += f" ({refused} refused by Kata)"
    text += f", {len(report.erofs_mounts)} erofs mount(s)"
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
        covered = {la.path for c in report.chains for la in c.layers}
        bare = [e for e in report.erofs_mounts if e.target not in covered]
        self.query_one(ChainTree).show_chains(
            report.chains, bare, empty="no overlay or erofs mounts"
        )
        self.query_one("#chains-summary", Static).update(summary(report))
