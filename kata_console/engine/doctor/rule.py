"""A rule: a pure function from the inspected model to findings, and its ID.

Rules read only the `Context` (no I/O: everything they need was read before, so the same
rules diagnose a live host and a recording alike). `needs_extras` rules look at facts an
older recording does not have; they are skipped on it, and `checked` says so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kata_console.engine.doctor.context import Context
from kata_console.engine.doctor.finding import Finding


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    check: Callable[[Context], Iterable[Finding]]
    needs_extras: bool = False
