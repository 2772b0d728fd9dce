"""The k9s-style location line: `sandboxes > sb-web > web`, plus source markers.

Shows where the user is (so Esc is predictable) and, on the right, what the data is:
doctor's findings by severity (sources that inspect a host), a DEMO marker for
demonstration sources (with what runs the VMs and the guests, so a simulated part is never
taken for a real one) and READ-ONLY when actions are refused. When the line is too narrow
the marker takes its short form and the source name keeps its end, then goes; then the marker
goes (the DEMO marker itself stays). A source name right after the path is parted from it
by ` · `, as the markers are.
"""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

#: what parts the path from the source name when there is no room for more
TIGHT = " \u00b7 "


class Breadcrumb(Widget):
    """Path of the current view on the left, source and safety markers on the right."""

    DEFAULT_CSS = """
    Breadcrumb {
        height: 1;
        width: 1fr;
        background: $panel;
        color: $text;
    }
    """

    path: reactive[tuple[str, ...]] = reactive(tuple)
    """The view path, outermost first."""
    source: reactive[str] = reactive("")
    """Name of the data source (demo, host, plan:FILE)."""
    demo: reactive[bool] = reactive(False)
    """Show the DEMO marker."""
    read_only: reactive[bool] = reactive(False)
    """Show the READ-ONLY marker."""
    marker: reactive[tuple[str, str]] = reactive(("", ""))
    """What runs the VMs and guests, long and short form ("" for none)."""
    findings: reactive[tuple[int, ...] | None] = reactive(None)
    """doctor's findings as (errors, warnings, infos); None when the source checks none."""
    findings_scope: reactive[str] = reactive("")
    """"" every rule checked, "partial" some could not, "not run" none could."""

    def render(self) -> Content:
        left: list[str | tuple[str, str]] = [(" kata-console ", "bold")]
        for i, part in enumerate(self.path):
            left.append((" \u203a " if i else " ", "dim"))
            left.append((part, "bold $accent" if i == len(self.path) - 1 else ""))
        head = Content.assemble(*left)
        room = self.size.width - head.cell_length - 1
        long, short = self.marker
        tail = self._tail(long)
        if tail.cell_length > room and short:
            tail = self._tail(short)
        if tail.cell_length > room:  # not even the short form: DEMO and the badge stay
            tail = self._tail("")
        if self.source:
            # one line: a source name too long for what the path and markers leave keeps
            # its end (the file name), then goes altogether; the markers always stay
            # (after a marker of text, a `·` tells the two apart)
            # (and `TIGHT` cells are kept between the path and a source name right after it)
            sep = "· " if self._marker_shown(tail) else ""
            parting = len(TIGHT) - 1 if not tail.plain else 0
            name, space = self.source, room - tail.cell_length - len(sep) - parting
            if len("source:  ") + len(name) > space:
                keep = space - len("source: … ")
                name = "\u2026" + name[-keep:] if keep >= 8 else ""
            if name:
                tail = Content.assemble(tail, (f"{sep}source: {name} ", "$text-muted"))
        pad = max(1, self.size.width - head.cell_length - tail.cell_length)
        if tail.plain.startswith("source:") and pad <= len(TIGHT):
            # the path's last crumb and the source name would run together: a `·` as
            # between the markers tells them apart
            return Content.assemble(head, (TIGHT, "dim"), tail)
        return Content.assemble(head, " " * pad, tail)

    def _marker_shown(self, tail: Content) -> bool:
        long, short = self.marker
        plain = tail.plain.rstrip()
        return bool(long or short) and plain.endswith((long, short) if short else (long,))

    def _tail(self, marker: str) -> Content:
        right: list[str | tuple[str, str]] = []
        if self.findings is not None:
            right += [*self._badge(), " "]
        if self.read_only:
            right += [(" READ-ONLY ", "bold $text on $warning"), " "]
        if self.demo:
            right += [(" DEMO ", "bold $text on $secondary"), " "]
        if marker:
            right += [(marker, "$text-muted"), " "]
        return Content.assemble(*right)

    def _badge(self) -> list[tuple[str, str]]:
        """The findings badge: a count per severity found (`F` lists them)."""
        errors, warnings, infos = (*(self.findings or ()), 0, 0, 0)[:3]
        parts = [
            (f" {errors} err ", "bold $text on $error") if errors else None,
            (f" {warnings} warn ", "bold $text on $warning") if warnings else None,
            (f" {infos} info ", "bold $text on $primary") if infos else None,
        ]
        shown = [p for p in parts if p is not None]
        if self.findings_scope == "not run":  # no check ran: no count to give
            return [(" findings: not run ", "bold $text on $warning")]
        if self.findings_scope == "partial":  # a count of what could be checked only
            return (
                [*shown, (" partial ", "$text-warning")]
                if shown
                else [(" 0 findings, partial ", "$text-warning")]
            )
        return shown or [(" 0 findings ", "$text-success")]
