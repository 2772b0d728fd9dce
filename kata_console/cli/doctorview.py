"""Human rendering of `doctor`: findings grouped by sandbox (host-level ones, which concern
no sandbox, first), worst group first, each with its evidence, Kata's text and the fix.
Colour only on a terminal, none with NO_COLOR (rich's rules)."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kata_console.cli.chainview import _PipeConsole
from kata_console.engine.doctor.finding import SEVERITIES, Finding, rank, severity_counts

STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
HOST = "(host: no sandbox)"


def groups(findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    """(sandbox, its findings), the group with the worst finding first."""
    by: dict[str, list[Finding]] = {}
    for f in findings:
        by.setdefault(f.sandbox or HOST, []).append(f)
    return sorted(by.items(), key=lambda kv: (min(rank(f.severity) for f in kv[1]), kv[0]))


def _counts_line(findings: list[Finding], counts: dict[str, Any]) -> Text:
    sev = severity_counts(findings)
    line = Text(f"doctor: {len(findings)} finding(s)", style="bold")
    for s in SEVERITIES:
        line.append(f"  {s} {sev[s]}", style=STYLE[s] if sev[s] else "dim")
    line.append(
        f"   checked {counts['sandboxes']} sandboxes, {counts['containers']} containers, "
        f"{counts['devices']} devices, {counts['processes']} processes, "
        f"{counts['loops']} loops, {counts['erofs_mounts']} erofs mounts, "
        f"{counts['cgroups']} kata cgroups, {counts['rules']} rules",
        style="dim",
    )
    return line


def print_findings(
    findings: list[Finding], counts: dict[str, Any], console: Console | None = None
) -> None:
    piped = not sys.stdout.isatty() if console is None else console.width >= 10_000
    if console is None:
        console = _PipeConsole(highlight=False, width=10_000 if piped else None)
    console.print(_counts_line(findings, counts))
    if counts.get("rules_skipped"):
        console.print(
            Text(
                "not checked (the recording has no host facts for them): "
                + ", ".join(counts["rules_skipped"]),
                style="dim",
            )
        )
    for sandbox, items in groups(findings):
        console.print(Text(f"\nsandbox {sandbox}" if sandbox != HOST else f"\n{HOST}", "bold"))
        for f in items:
            if piped:  # nothing wraps: plain lines, no column padding at their ends
                for line in _lines(f):
                    console.print(line)
            else:
                console.print(_finding(f))


def _head(f: Finding) -> Text:
    head = Text(f.id, style="bold")
    head.append(f"  {f.title}", style="")
    where = [x for x in (f.container and f"container {f.container}", f.device) if x]
    if where:
        head.append(f"  [{', '.join(where)}]", style="dim")
    return head


def _rows(f: Finding) -> list[tuple[str, str, str]]:
    rows = [("read:", e, "") for e in f.evidence]
    if f.kata_error:
        rows.append(("kata:", f.kata_error, "magenta"))
    if f.fix:
        rows.append(("fix:", f.fix, "green"))
    return rows


def _lines(f: Finding) -> list[Text]:
    first = Text("  ")
    first.append(f"{f.severity.upper():<7}", style=STYLE.get(f.severity, ""))
    first.append(" ")
    first.append_text(_head(f))
    out = [first]
    for label, text, style in _rows(f):
        line = Text(f"    {label:<5} ", style="dim")
        line.append(text, style=style)
        out.append(line)
    return out


def _finding(f: Finding) -> Table:
    """One finding as a grid, so that a line wrapped on a narrow terminal stays in its
    column instead of running back to the margin."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1)
    grid.add_column(width=7, no_wrap=True)
    grid.add_column()
    grid.add_row("", Text(f.severity.upper(), style=STYLE.get(f.severity, "")), _head(f))
    for label, text, style in _rows(f):
        grid.add_row("", Text(f"  {label}", style="dim"), Text(text, style=style))
    return grid
