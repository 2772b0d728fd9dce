"""A sandbox's host processes (shim, VMM, virtiofsd): pid, role, CPU, memory, threads,
open files, age. A process that exited between two refreshes shows its status, not a gap;
one shown from a recording (the demo's node) is dimmed and says `recorded` where its age
would be: it is not alive on this machine."""

from __future__ import annotations

import datetime as _dt

from rich.text import Text

from kata_console.engine.clock import from_unix
from kata_console.engine.inspect.facts import RECORDED, ProcessFacts
from kata_console.sources.model import format_age
from widgets.resource_table import ResourceTable

COLUMNS = (
    ("pid", "pid"),
    ("role", "role"),
    ("name", "name"),
    ("cpu", "cpu%"),
    ("rss", "rss"),
    ("threads", "thr"),
    ("fds", "fds"),
    ("age", "age"),
)


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / (1 << 20):.0f}M"


def process_row(p: ProcessFacts, now: _dt.datetime) -> tuple[str | Text, ...]:
    if p.error:
        return (str(p.pid), p.role, p.name, Text(p.error, style="yellow"), "-", "-", "-", "-")
    created = from_unix(p.create_time)
    if p.status == RECORDED:  # a recording's figures, not this machine's now: dimmed
        cpu = "-" if p.cpu_percent is None else f"{p.cpu_percent:.1f}"
        thr, fds = ("-" if v is None else str(v) for v in (p.threads, p.fds))
        cells = (str(p.pid), p.role, p.name, cpu, _mib(p.rss), thr, fds, RECORDED)
        return tuple(Text(cell, style="dim") for cell in cells)
    return (
        str(p.pid),
        p.role,
        p.name,
        "-" if p.cpu_percent is None else f"{p.cpu_percent:.1f}",
        _mib(p.rss),
        "-" if p.threads is None else str(p.threads),
        "-" if p.fds is None else str(p.fds),
        format_age(created, now),
    )


class ProcessTable(ResourceTable):
    """The host processes of one sandbox; `show(processes, now)` refreshes it in place."""

    noun = "processes"

    DEFAULT_CSS = """
    ProcessTable {
        height: auto;
        max-height: 6;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(COLUMNS, id=id, classes=classes)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "select_cursor":
            return False  # a process has no view of its own: Enter is not offered
        return super().check_action(action, parameters)

    def show(self, processes: list[ProcessFacts], now: _dt.datetime) -> int:
        return self.apply({str(p.pid): process_row(p, now) for p in processes})
