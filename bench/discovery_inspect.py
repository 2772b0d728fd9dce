"""Benchmark parts: `inspect` of 200 recorded sandboxes, and the console's own work per
refresh of 200 sandboxes (turning a report into views and table rows), each against its
target, from one recording made here.

The recording is made the way `kata-console record` makes one: 200 sandbox state
directories (Kata's Go-written sample under 200 IDs, each with its two containers and two
EROFS devices) inspected through the recording ports. The live host has no such
processes, namespaces or shims; their answers (none, missing, unreachable) are recorded
as they came.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kata_console.engine.inspect.report import inspect_host
from kata_console.inspection import open_inspection
from kata_console.screens.sandboxes import sandbox_row
from kata_console.sources.host_source import sandbox_view

REPO = Path(__file__).resolve().parents[1]
N, INSPECT_TARGET_MS, REFRESH_TARGET_MS = 200, 300.0, 50.0


def _make_root(root: Path, n: int) -> None:
    sample = REPO / "fixtures" / "persist" / "go-sbs" / "go-erofs-1"
    for i in range(n):
        sid = f"sb-{i:04d}"
        dest = root / "sbs" / sid
        shutil.copytree(sample, dest)
        shutil.move(dest / "go-erofs-1", dest / sid)
        doc = json.loads((dest / "persist.json").read_text())
        doc["SandboxContainer"] = sid
        doc["Config"]["ContainerConfigs"][0]["ID"] = sid
        (dest / "persist.json").write_text(json.dumps(doc, separators=(",", ":")) + "\n")


def _best(fn, rounds: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def measure() -> list[str]:
    with tempfile.TemporaryDirectory(prefix="kc-bench-inspect-") as tmp:
        root = Path(tmp) / "vc"
        _make_root(root, N)
        live = open_inspection(record=True)
        try:
            inspect_host(live.ports, vc_root=str(root), kata_root=str(Path(tmp) / "none"))
            recording = Path(tmp) / "node.json"
            live.save(recording, str(root), str(Path(tmp) / "none"))
        finally:
            live.close()
        replay = open_inspection(str(recording))
        vc, kata = replay.recorded_roots  # type: ignore[misc]

        def inspect() -> object:
            return inspect_host(replay.ports, vc_root=vc, kata_root=kata)

        report = inspect()
        assert len(report.sandboxes) == N  # type: ignore[attr-defined]
        t_inspect = _best(inspect, 7)
        now = __import__("datetime").datetime.now(__import__("datetime").UTC)

        def refresh() -> None:
            views = [sandbox_view(s) for s in report.sandboxes]  # type: ignore[attr-defined]
            rows = {v.id: sandbox_row(v, now) for v in views}
            assert len(rows) == N

        t_refresh = _best(refresh, 15)
    inspect_ms, refresh_ms = t_inspect * 1e3, t_refresh * 1e3
    ok_i, ok_r = inspect_ms < INSPECT_TARGET_MS, refresh_ms < REFRESH_TARGET_MS
    return [
        f"inspect and console refresh: {N} recorded sandboxes (2 containers, 2 EROFS devices "
        "each); best of 7 and 15",
        f"  {'inspect_host() on the recording':48}{inspect_ms:>9.1f} ms  "
        f"< {INSPECT_TARGET_MS:g} ms  {'ok' if ok_i else 'MISSED'}",
        f"  {'report -> views -> sandbox rows (per tick)':48}{refresh_ms:>9.1f} ms  "
        f"< {REFRESH_TARGET_MS:g} ms  {'ok' if ok_r else 'MISSED'}",
    ]


if __name__ == "__main__":
    print("\n".join(measure()))
