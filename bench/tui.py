"""Console benchmark: figures, not assertions. Each is printed next to its
baseline from the same run and its target.

1. cold start to first frame: `kata-console` on the fixture source vs a minimal Textual
   app (the floor), each in a fresh interpreter; target <= 1.5x the floor.
2. refresh tick with 500 sandboxes x 4 containers: diffed update of the sandboxes table
   after 5 sandboxes changed, vs a full rebuild; target < 50 ms and only changed rows
   touched.
3. log ingestion of 100,000 lines through the log pane in timer-sized batches, vs
   Textual's own `Log.write_lines`; target >= 50,000 lines/s and no frame over 100 ms.
4. peak RSS of this process after all of the above, vs the minimal app; target < 150 MB.

Run: .venv/bin/python bench/tui.py
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kata_console.sources.model import (  # noqa: E402
    ContainerView,
    LogLine,
    Operation,
    SandboxView,
)

T0 = _dt.datetime(2026, 3, 2, 9, 30, tzinfo=_dt.UTC)
SIZE = (120, 40)

_STARTUP = """
import sys, time
t_start = float(sys.argv[1])
{body}
async def ready(pilot):
    print(time.time() - t_start, flush=True)
    pilot.app.exit()
app.run(headless=True, size=(120, 40), auto_pilot=ready)
"""
_MINIMAL = """
from textual.app import App
from textual.widgets import Footer, Static
class Minimal(App):
    def compose(self):
        yield Static("hello")
        yield Footer()
app = Minimal()
"""
_CONSOLE = """
from kata_console.app import KataConsole
from kata_console.sources.fixture_source import FixtureSource
app = KataConsole(FixtureSource(name="demo (recorded)"), cursor_blink=False)
"""
_DEMO = """
from kata_console.app import KataConsole
from kata_console.sources.demo_source import DemoSource
app = KataConsole(DemoSource(), cursor_blink=False)
"""
_RSS = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def _startup(body: str, runs: int = 5) -> tuple[float, int]:
    """Median seconds from spawning the interpreter to the first frame, and peak RSS KiB."""
    times, rss = [], 0
    code = _STARTUP.format(body=body) + "\n" + _RSS
    for _ in range(runs):
        start = time.time()
        out = subprocess.run(
            [sys.executable, "-c", code, repr(start)],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            env=os.environ | {"TEXTUAL_ANIMATIONS": "none"},
        ).stdout.split()
        times.append(float(out[0]))
        rss = max(rss, int(out[1]))
    return statistics.median(times), rss


class BigSource:
    """500 sandboxes x 4 containers, no chains: the refresh tick measures the table diff."""

    name, demo, read_only, read_only_reason = "bench", True, False, ""

    def __init__(self, sandboxes: int = 500, per: int = 4) -> None:
        self.views = [
            SandboxView(
                id=f"sb-{i:04d}",
                state="running",
                hypervisor="qemu",
                agent_health="ok",
                containers=[
                    ContainerView(f"c{j}", f"sb-{i:04d}", "running", "erofs", 3, 1000 + j)
                    for j in range(per)
                ],
                created=T0 - _dt.timedelta(minutes=i),
            )
            for i in range(sandboxes)
        ]

    def now(self) -> _dt.datetime:
        return T0

    async def load(self) -> list[SandboxView]:
        return list(self.views)

    async def chains(self):  # type: ignore[no-untyped-def]
        raise NotImplementedError

    def logs(self) -> list[LogLine]:
        return []

    def subscribe(self, callback):  # type: ignore[no-untyped-def]
        return lambda: None

    def describe(self, op: Operation) -> str:
        return op.op

    async def run_op(self, op: Operation) -> None:
        return None


async def _refresh_tick() -> tuple[float, float, float, int, float, int]:
    from kata_console.app import KataConsole
    from kata_console.screens.sandboxes import SandboxesScreen

    source = BigSource()
    app = KataConsole(source, cursor_blink=False, animations=False)  # type: ignore[arg-type]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SandboxesScreen)
        ticks, diffs, touched = [], [], 0
        for round_ in range(5):
            changed = list(source.views)
            for k in range(5):
                i = round_ * 50 + k * 7
                changed[i] = replace(changed[i], state="paused" if round_ % 2 == 0 else "stopped")
            t = time.perf_counter()
            screen.show_sandboxes(changed)
            diffs.append(time.perf_counter() - t)
            touched = screen.last_touched  # read now: a later re-layout sync touches none
            await pilot.pause()
            ticks.append(time.perf_counter() - t)
        # floor: the bare DataTable changing the same number of cells, then one frame
        table = screen.table
        floors = []
        for round_ in range(5):
            t = time.perf_counter()
            for k in range(touched):
                table.update_cell(f"sb-{round_ * 50 + k:04d}", "hypervisor", f"q{round_}")
            await pilot.pause()
            floors.append(time.perf_counter() - t)
        # baseline: the same picture rebuilt from scratch
        t = time.perf_counter()
        table.clear()
        table.apply({})
        screen.show_sandboxes(source.views)
        rebuilt = screen.last_touched
        await pilot.pause()
        rebuild = time.perf_counter() - t
    median = statistics.median
    return median(diffs), median(ticks), median(floors), touched, rebuild, rebuilt


async def _log_ingest(
    total: int = 100_000, burst: int = 1_000, every: float = 0.005
) -> tuple[float, float, int, float, float]:
    """A producer offers `total` lines in bursts of `burst` every `every` seconds (200,000
    lines/s offered) while the app runs normally (the pane writes on its 50 ms timer).
    Returns LogPane lines/s, its worst event-loop stall, lines it skipped because they
    would have been evicted in the same write, and the same rate/stall for a naive Textual
    `Log` written once per burst."""
    from textual.app import App, ComposeResult
    from textual.widgets import Log

    from widgets.log_pane import LogPane

    lines = [
        LogLine(T0, "stdout" if i % 3 else "engine", "info", f"GET /healthz 200 {i} 0.4ms")
        for i in range(total)
    ]
    texts = [f"{x.source} {x.text}" for x in lines]

    class PaneApp(App[None]):
        def compose(self) -> ComposeResult:
            yield LogPane(max_lines=10_000, cursor_blink=False)

    class LogApp(App[None]):
        def compose(self) -> ComposeResult:
            yield Log(max_lines=10_000)

    async def run(app: App[None], write, done) -> tuple[float, float]:  # type: ignore[no-untyped-def]
        worst = 0.0
        stop = False

        async def watchdog() -> None:  # the longest the loop was blocked (= a frame's cost)
            nonlocal worst
            while not stop:
                t = time.perf_counter()
                await asyncio.sleep(0.005)
                worst = max(worst, time.perf_counter() - t - 0.005)

        async with app.run_test(size=SIZE) as pilot:
            dog = asyncio.create_task(watchdog())
            start = time.perf_counter()
            for i in range(0, total, burst):
                write(pilot.app, i)
                await asyncio.sleep(every)
            while not done(pilot.app):
                await asyncio.sleep(0.005)
            await pilot.pause()  # the frame showing the last line
            elapsed = time.perf_counter() - start
            stop = True
            await dog
        return total / elapsed, worst

    def pane_write(app: App[None], i: int) -> None:
        app.query_one(LogPane).push(lines[i : i + burst])

    seen: dict[str, int] = {}

    def pane_done(app: App[None]) -> bool:
        buf = app.query_one(LogPane).buffer
        seen["skipped"] = buf.skipped
        return len(buf) + buf.dropped == total

    def log_write(app: App[None], i: int) -> None:
        app.query_one(Log).write_lines(texts[i : i + burst])

    pane_app = PaneApp()
    ours, worst = await run(pane_app, pane_write, pane_done)
    skipped = seen["skipped"]
    theirs, their_worst = await run(LogApp(), log_write, lambda app: True)
    return ours, worst, skipped, theirs, their_worst


def _verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> int:
    floor, floor_rss = _startup(_MINIMAL)
    ours, ours_rss = _startup(_CONSOLE)
    demo, _demo_rss = _startup(_DEMO)
    print("cold start to first frame (median of 5, fresh interpreter)")
    print(f"  minimal textual app (floor)  {floor * 1000:8.0f} ms")
    print(
        f"  kata-console, demo (engine)  {demo * 1000:8.0f} ms  = {demo / floor:.2f}x floor  (target <= 1.5x;"
        f" agents spawn after the first frame)  {_verdict(demo / floor <= 1.5)}"
    )
    print(
        f"  kata-console, fixture source {ours * 1000:8.0f} ms  = {ours / floor:.2f}x floor"
        f"  (target <= 1.5x)  {_verdict(ours / floor <= 1.5)}"
    )

    diff, tick, floor_tick, touched, rebuild, rebuilt = asyncio.run(_refresh_tick())
    print("refresh tick, 500 sandboxes x 4 containers; 5 changed vs the last tick, 5 changed back")
    print(f"  full rebuild + frame (baseline)     {rebuild * 1000:6.1f} ms  rows touched {rebuilt}")
    print(f"  bare DataTable, {touched} cells + frame (floor) {floor_tick * 1000:6.1f} ms")
    print(
        f"  keyed diff (console code)           {diff * 1000:6.1f} ms  rows touched {touched}  (target < 50 ms, only changed rows)"
        f"  {_verdict(diff < 0.050 and touched == 10)}"
    )
    print(f"  keyed diff + frame                  {tick * 1000:6.1f} ms")

    rate, worst, skipped, log_rate, log_worst = asyncio.run(_log_ingest())
    print("log ingestion, 100,000 lines offered in bursts of 1,000 every 5 ms (<= 200,000 lines/s)")
    print(
        f"  textual Log, write per burst {log_rate:8.0f} lines/s  worst stall {log_worst * 1000:.0f} ms  (baseline)"
    )
    print(
        f"  LogPane, 50 ms batches       {rate:8.0f} lines/s  worst stall {worst * 1000:.0f} ms  (target >= 50,000 lines/s, no frame over 100 ms)"
        f"  {_verdict(rate >= 50_000 and worst <= 0.100)}"
    )
    print(f"  of which never stored (evicted within the same 50 ms write): {skipped}")

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("peak RSS")
    print(f"  minimal textual app          {floor_rss / 1024:8.1f} MB")
    print(f"  kata-console start           {ours_rss / 1024:8.1f} MB")
    print(
        f"  this bench (2,000 containers + 100k log lines) {peak:.1f} MB  (target < 150 MB)  {_verdict(peak < 150)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
