"""Benchmark: reading one sandbox network namespace, a kept handle against fresh ones.

Builds a real Kata-shaped namespace (`tests.netlab`: veth, tap, both mirred redirects;
root needed, otherwise it says why and exits 0), then times N `inspect`s three ways:

* reused: one `PyrouteNetnsSource`, its handle kept across calls (what the console does);
* fresh (setns): a new source per read, so a new handle each time, entered our way (a
  throwaway thread calls setns, no fork);
* fresh (fork): pyroute2's own way in, `AsyncIPRoute(netns=..., flags=0)`, which forks
  a child per open; the same dumps and decoding as ours.

Figures, not assertions. `bench_netns()` returns them for `bench/discovery.py`.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.discovery.network import PyrouteNetnsSource, _dump
from tests.netlab import NetLab, netlab_skip_reason

Timing = tuple[float, float]  # (wall seconds, this process's CPU seconds, all threads)


def _clock() -> Timing:
    return time.perf_counter(), time.process_time()


def _since(start: Timing) -> Timing:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def _reused(netns: str, n: int) -> Timing:
    with PyrouteNetnsSource() as src:
        assert src.inspect(netns).error is None  # the one open, outside the timing
        start = _clock()
        for _ in range(n):
            src.inspect(netns)
        elapsed = _since(start)
        assert src.opens == 1
    return elapsed


def _fresh_setns(netns: str, n: int) -> Timing:
    start = _clock()
    for _ in range(n):
        with PyrouteNetnsSource() as src:
            assert src.inspect(netns).error is None
    return _since(start)


def _fresh_fork(netns: str, n: int) -> Timing:
    from pyroute2 import AsyncIPRoute

    async def reads() -> Timing:
        start = _clock()
        for _ in range(n):
            ipr = AsyncIPRoute(netns=netns, flags=0)
            try:
                await _dump(ipr)
            finally:
                ipr.close()
        return _since(start)

    return asyncio.run(reads())


def bench_netns(n: int = 100) -> dict[str, Timing]:
    """(wall, CPU) seconds for `n` reads of one namespace per way (empty when no lab can
    be built). The fork way's CPU leaves out its children's."""
    reason = netlab_skip_reason()
    if reason:
        print(f"netns benchmark skipped: {reason}")
        return {}
    lab = NetLab()
    try:
        lab.udp_echo(10)  # some traffic, so counters and redirect stats are non-zero
        return {
            "reused": _reused(lab.sandbox, n),
            "fresh (setns)": _fresh_setns(lab.sandbox, n),
            "fresh (fork)": _fresh_fork(lab.sandbox, n),
        }
    finally:
        lab.close()


def report(results: dict[str, Timing], n: int = 100) -> str:
    if not results:
        return ""
    base = results["reused"][0]
    lines = [f"{n} inspects of one namespace (links + ingress filters):"]
    head = f"  {'handle':<15} {'wall ms':>9} {'per read':>9} {'CPU ms':>8} {'vs reused':>10}"
    lines.append(head)
    for name, (wall, cpu) in results.items():
        lines.append(
            f"  {name:<15} {wall * 1e3:>9.1f} {wall * 1e3 / n:>9.2f} {cpu * 1e3:>8.1f}"
            f" {wall / base:>9.1f}x"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    N = 100
    print(report(bench_netns(N), N))
