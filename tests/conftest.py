"""Shared fixtures. Real resources only: the kernel lab builds and tears down real mounts,
the net lab real namespaces and links."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.kernellab import KernelLab, kernel_skip_reason
from tests.netlab import NetLab, netlab_skip_reason

if TYPE_CHECKING:
    from kata_console.sources.demo_source import DemoSource

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


@pytest.fixture
async def demo() -> AsyncIterator[DemoSource]:
    """The embedded demo, started (its QEMU or simulated VMs and agents), closed after.
    Imported here, not at the top: the other tests' process needs none of it."""
    from kata_console.sources.demo_source import DemoSource

    source = DemoSource()
    try:
        await asyncio.wait_for(source.ready(), 30)
        yield source
    finally:
        await source.close()
