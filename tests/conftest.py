"""Shared fixtures. Real resources only: the kernel lab builds and tears down real mounts,
the net lab real namespaces and links."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernellab import KernelLab, kernel_skip_reason
from tests.netlab import NetLab, netlab_skip_reason

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[KernelLab]:
    """A kernel lab in a private temp dir; every mount and loop is undone afterwards."""
    reason = kernel_skip_reason()
    if reason:
        pytest.skip(reason)
    k = KernelLab(tmp_path)
    try:
        yield k
    finally:
        k.close()


@pytest.fixture
def netlab() -> Iterator[NetLab]:
    """A CNI-style network namespace pair (veth, tap, tc redirects), removed afterwards."""
    reason = netlab_skip_reason()
    if reason:
        pytest.skip(reason)
    lab = NetLab()
    try:
        yield lab
    finally:
        lab.close()


from tests.qemukit import reaper  # noqa: E402,F401 - the QEMU tests' fixture
