"""Every host answer asked for while one report is built, asked once.

The resolver and Kata's rules ask the same host questions (the stat of a backing file, a
statfs, a loop's backing file); a report asks each one once and keeps the answer (a value
or the OSError) for its lifetime only, so two reports never share a stale answer. `peek`
lets the Kata verdicts use what the resolution already learned without asking again, and
`remember` records an answer the resolution learned another way (see its callers).
"""

from __future__ import annotations

from typing import Any

from kata_console.engine.ports import FileStat, HostView, LoopStatus

#: `peek` found nothing for this question
MISS: Any = object()


def _again(exc: OSError) -> OSError:
    """A fresh copy of a remembered error (re-raising one object would grow its traceback)."""
    return OSError(exc.errno, exc.strerror, exc.filename)


class MemoHost:
    """A `HostView` that remembers every answer of the host it wraps."""

    def __init__(self, host: HostView) -> None:
        self.inner = host
        self._text: dict[str, str | OSError] = {}
        self._real: dict[str, str | OSError] = {}
        self._list: dict[str, list[str] | OSError] = {}
        self._stat: dict[str, FileStat | OSError] = {}
        self._lstat: dict[str, FileStat | OSError] = {}
        self._statfs: dict[str, int | OSError] = {}
        self._loop: dict[str, LoopStatus | OSError] = {}
        self._tables = {
            "read_text": self._text,
            "realpath": self._real,
            "listdir": self._list,
            "stat": self._stat,
            "lstat": self._lstat,
            "statfs_type": self._statfs,
            "loop_status": self._loop,
        }

    def peek(self, method: str, key: str) -> Any:
        """The remembered answer (a value or an OSError) or `MISS`; never asks the host."""
        return self._tables[method].get(key, MISS)

    def remember(self, method: str, key: str, answer: Any) -> None:
        """Record an answer learned without asking (kept only if none is known yet)."""
        self._tables[method].setdefault(key, answer)

    def read_mountinfo(self, pid: int | None = None) -> str:
        return self.inner.read_mountinfo(pid)

    def read_text(self, path: str) -> str:
        r = self._text.get(path)
        if r is None:
            try:
                r = self.inner.read_text(path)
            except OSError as exc:
                r = exc
            self._text[path] = r
        if isinstance(r, OSError):
            raise _again(r)
        return r

    def realpath(self, path: str) -> str:
        r = self._real.get(path)
        if r is None:
            try:
                r = self.inner.realpath(path)
            except OSError as exc:
                r = exc
            self._real[path] = r
        if isinstance(r, OSError):
            raise _again(r)
        return r

    def listdir(self, path: str) -> list[str]:
        r = self._list.get(path)
        if r is None:
            try:
                r = self.inner.listdir(path)
            except OSError as exc:
                r = exc
            self._list[path] = r
        if isinstance(r, OSError):
            raise _again(r)
        return list(r)

    def stat(self, path: str) -> FileStat:
        r = self._stat.get(path)
        if r is None:
            try:
                r = self.inner.stat(path)
            except OSError as exc:
                r = exc
            self._stat[path] = r
        if isinstance(r, OSError):
            raise _again(r)
        return r

    def lstat(self, path: str) -> FileStat:
        r = self._lstat.get(path)
        if r is None:
            try:
                r = self.inner.lstat(path)
            except OSError as exc:
                r = exc
            self._lstat[path] = r
        if isinstance(r, OSError):
            raise _again(r)
        return r

    def statfs_type(self, path: str) -> int:
        r = self._statfs.get(path)
        if r is None:
            try:
                r = self.inner.statfs_type(path)
            except OSError as exc:
                r = exc
            self._statfs[path] = r
        if isinstance(r, OSError):
            raise _again(r)
        return r

    def loop_status(self, name: str) -> LoopStatus:
        r = self._loop.get(name)
        if r is None:
            try:
                r = self.inner.loop_status(name)
            except OSError as exc:
                r = exc
            self._loop[name] = r
        if isinstance(r, OSError):
            raise _again(r)
        return r
