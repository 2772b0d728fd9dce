"""`Clock` implementations: the real one, and frozen/stepping ones for tests and snapshots.

Persisted `StartTime`s and event timestamps come from the clock, so a frozen clock makes
persist.json files and event logs byte-for-byte reproducible.
"""

from __future__ import annotations

import datetime as _dt
import time


def from_unix(seconds: float | None) -> _dt.datetime | None:
    """A process start time (psutil, or a recording) as UTC; None when there is none or
    the number is no date (a hand-edited recording): an unknown age, never an error."""
    if not seconds:
        return None
    try:
        return _dt.datetime.fromtimestamp(seconds, _dt.UTC)
    except (OverflowError, ValueError, OSError):
        return None


class SystemClock:
    """Wall time in UTC (Go persists `time.Now().UTC()`) and the monotonic clock."""

    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.UTC)

    def monotonic(self) -> float:
        return time.monotonic()


class FrozenClock:
    """A clock that only moves when told (or by `tick` per `monotonic()` read), for tests."""

    def __init__(self, start: _dt.datetime | None = None, tick: float = 0.0) -> None:
        self._start = start or _dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=_dt.UTC)
        self._offset = 0.0
        self._tick = tick

    def advance(self, seconds: float) -> None:
        self._offset += seconds

    def now(self) -> _dt.datetime:
        return self._start + _dt.timedelta(seconds=self._offset)

    def monotonic(self) -> float:
        value = self._offset
        self._offset += self._tick
        return value
