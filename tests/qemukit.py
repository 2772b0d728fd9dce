"""What the QEMU tests share: the skip when the binary is absent, and a reaper that kills
every QEMU a test started, by pid, whatever happened in the test (registered as a fixture
by tests/conftest.py)."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator

import pytest

needs_qemu = pytest.mark.skipif(
    shutil.which("qemu-system-x86_64") is None,
    reason="qemu-system-x86_64 is not installed (make test installs qemu-system-x86 as root)",
)


@pytest.fixture
def reaper() -> Iterator[list[int]]:
    """Pids of every QEMU a test started: killed afterwards whatever happened."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
