"""The engine must not import UI, RPC, process, netlink or hypervisor libraries, nor backends."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

FORBIDDEN = (
    "textual",
    "grpc",
    "psutil",
    "pyroute2",
    "httpx",
    "prometheus_client",
    "qemu",
    "widgets",
    "backends",
    "rich",
)

PROBE = f"""
import importlib, pkgutil, sys
import kata_console.engine as engine
for info in pkgutil.walk_packages(engine.__path__, "kata_console.engine."):
    importlib.import_module(info.name)
bad = sorted(m for m in sys.modules if m.split(".")[0] in {FORBIDDEN!r})
print(",".join(bad))
"""


def test_engine_imports_nothing_forbidden() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", f"engine imported: {out.stdout.strip()}"


def test_probe_detects_a_forbidden_import() -> None:
    """The probe itself works: importing textual next to the engine is seen."""
    probe = PROBE.replace(
        "import kata_console.engine as engine", "import kata_console.engine as engine, rich"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert "rich" in out.stdout


def test_probe_walks_every_subsystem_folder() -> None:
    """The walk reaches each subsystem's modules, so a forbidden import in a folder is seen."""
    probe = PROBE.replace(
        'print(",".join(bad))',
        'print(",".join(sorted(m for m in sys.modules if m.startswith("kata_console.engine."))))',
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    seen = set(out.stdout.strip().split(","))
    for module in (
        "kata_console.engine.mounts.chains",
        "kata_console.engine.lifecycle.sandbox",
        "kata_console.engine.persist.store",
    ):
        assert module in seen
