"""`HostSource`: the live host, read-only.

Chains come from the live mount table (`LinuxHost`), resolved in a thread because the
resolver reads sysfs and issues loop ioctls. Sandboxes stay empty until the
host-inspection issue reads Kata's state directories and processes; the app says so
instead of showing an empty table without explanation.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
from collections.abc import Callable

from kata_console.engine.mounts.chainmodel import ChainReport
from kata_console.sources.model import (
    ConsoleError,
    LogLine,
    Operation,
    SandboxView,
    SourceEvent,
    Unsubscribe,
)

EMPTY_NOTICE = (
    "no sandboxes listed: the host source reads this machine's mount table, "
    "not Kata's sandbox state; C shows its mount chains"
)


class HostSource:
    """Read-only view of this machine."""

    name = "host"
    demo = False

    def __init__(self, *, read_only: bool = True) -> None:
        self.read_only = read_only
        self.read_only_reason = "the host source inspects a live machine" if read_only else ""
        self._subscribers: list[Callable[[SourceEvent], None]] = []

    def now(self) -> _dt.datetime:
        return _dt.datetime.now(_dt.UTC)

    async def load(self) -> list[SandboxView]:
        return []

    async def chains(self) -> ChainReport:
        return await asyncio.to_thread(_resolve_live)

    def logs(self) -> list[LogLine]:
        return []

    def subscribe(self, callback: Callable[[SourceEvent], None]) -> Unsubscribe:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def describe(self, op: Operation) -> str:
        return f"{op.op} {op.target}"

    async def run_op(self, op: Operation) -> None:
        raise ConsoleError(
            "the host source is read-only: it inspects this machine and drives no Kata runtime"
        )


def _resolve_live() -> ChainReport:
    from backends.host.linux import LinuxHost
    from kata_console.engine.mounts.chains import resolve_chains
    from kata_console.engine.mounts.mounttable import MountTable

    host = LinuxHost()
    return resolve_chains(MountTable(host.read_mountinfo()), host, check_st_dev=True)
