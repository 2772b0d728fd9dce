"""Benchmark: what asking a shim for its agent URL costs, with the client kept per socket
(`HttpShimSource()`, what the console uses) against a fresh client for every call
(`HttpShimSource(reuse=False)`), and the floor: the same HTTP/1.1 exchange written by hand
on one already connected unix socket.

The shim is the test double (`tests/shimdouble.py`, not Kata) in its own process, on a
socket in a 0700 temp dir, so that its threads do not compete with the client for one
GIL. Each side runs `calls` sequential calls `rounds` times; the best round counts, so
that warm-up and machine noise do not land on one side. Figures only, no asserts.

    .venv/bin/python bench/discovery_shim.py [--calls 200] [--rounds 3]

`measure()` returns the figures for bench/discovery.py.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from backends.discovery.shim import HttpShimSource  # noqa: E402
from tests.shimdouble import AGENT_URL  # noqa: E402

_REQUEST = b"GET /agent-url HTTP/1.1\r\nHost: shim\r\n\r\n"


def _best(rounds: int, calls: int, run: Callable[[], None]) -> float:
    """Seconds per call of the best of `rounds` runs of `calls` calls."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            run()
        best = min(best, time.perf_counter() - start)
    return best / calls


def _floor(path: str) -> Callable[[], None]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    tail = AGENT_URL.encode()

    def run() -> None:
        sock.sendall(_REQUEST)
        data = b""
        while not data.endswith(tail):
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("the double closed the connection")
            data += chunk

    run.sock = sock  # type: ignore[attr-defined]
    return run


def _asker(source: HttpShimSource, path: str) -> Callable[[], None]:
    def run() -> None:
        facts = source.agent_url(path)
        if facts.agent_url != AGENT_URL:
            raise RuntimeError(f"unexpected answer: {facts}")

    return run


def measure(calls: int = 200, rounds: int = 3) -> dict[str, float]:
    """Seconds per `agent_url` call: `floor`, `reused`, `fresh`, and the two ratios."""
    tmp = tempfile.mkdtemp(prefix="kc-bench-shim-")  # 0700
    path = os.path.join(tmp, "shim-monitor.sock")
    double = subprocess.Popen(
        [sys.executable, "-m", "tests.shimdouble", path],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert double.stdout is not None
        if double.stdout.readline().strip() != "ready":
            raise RuntimeError("the shim double did not start")
        floor = _floor(path)
        with HttpShimSource() as reused_src, HttpShimSource(reuse=False) as fresh_src:
            reused, fresh = _asker(reused_src, path), _asker(fresh_src, path)
            for run in (floor, reused, fresh):  # warm-up: imports, first connection
                for _ in range(10):
                    run()
            result = {
                "floor": _best(rounds, calls, floor),
                "reused": _best(rounds, calls, reused),
                "fresh": _best(rounds, calls, fresh),
            }
        floor.sock.close()  # type: ignore[attr-defined]
    finally:
        if double.stdin is not None:
            double.stdin.close()
        try:
            double.wait(5)
        except subprocess.TimeoutExpired:
            double.kill()
            double.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    result["reused_vs_floor"] = result["reused"] / result["floor"]
    result["fresh_vs_reused"] = result["fresh"] / result["reused"]
    return result


def report(result: dict[str, float], calls: int) -> str:
    rows = [
        ("hand-written HTTP/1.1, one socket (floor)", result["floor"]),
        ("HttpShimSource(), client kept per socket", result["reused"]),
        ("HttpShimSource(reuse=False), fresh client", result["fresh"]),
    ]
    lines = [f"{calls} sequential GET /agent-url against the shim double (best round):"]
    for label, per_call in rows:
        lines.append(
            f"  {label:<44} {per_call * calls * 1e3:8.1f} ms  {per_call * 1e6:8.0f} µs/call"
        )
    lines.append(
        f"  kept client: {result['reused_vs_floor']:.1f}x the floor; "
        f"fresh client: {result['fresh_vs_reused']:.1f}x the kept one"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(report(measure(args.calls, args.rounds), args.calls))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
