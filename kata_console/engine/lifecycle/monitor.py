"""A sandbox's health monitor, as Go's `virtcontainers/monitor.go` runs it.

Every `interval` (Go: 5 s) it pings the hypervisor, then the agent (`Check`). A failure
is wrapped (`failed to ping hypervisor process: <err>`, `failed to ping agent: <err>`),
logged as Go logs it (warning `notify on errors`; logrus's `error` field is rendered
after the message, as everywhere in the engine), marks the agent dead (Go `markDead`:
every later RPC fails with `Dead agent`) and is sent to every watcher, whose queue holds
128 errors as Go's channel does. Go's shim starts it once the sandbox runs
(`Sandbox.Monitor`) and `Sandbox.Delete` stops it; whoever plays the shim decides what a
notified error means (Go's shim stops and deletes the sandbox).

Its Checks are not steps: Go's monitor runs beside the operations, never in their order.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from kata_console.engine import errors as E

if TYPE_CHECKING:
    from kata_console.engine.lifecycle.sandbox import Sandbox

DEFAULT_CHECK_INTERVAL = 5.0
WATCHER_CHANNEL_SIZE = 128
SUBSYSTEM = "virtcontainers/monitor"

#: what a watcher receives: the wrapped error text, or None when the monitor stopped
Watcher = asyncio.Queue[str | None]


class Monitor:
    """Go `monitor`: one per sandbox, started by its first watcher."""

    def __init__(self, sandbox: Sandbox, interval: float = DEFAULT_CHECK_INTERVAL) -> None:
        self.sandbox = sandbox
        self.interval = interval
        self.watchers: list[Watcher] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def new_watcher(self) -> Watcher:
        """Go `newWatcher`: a new queue; the ticker starts with the first one."""
        watcher: Watcher = asyncio.Queue(maxsize=WATCHER_CHANNEL_SIZE)
        self.watchers.append(watcher)
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(
                self._tick(), name=f"monitor {self.sandbox.id}"
            )
        return watcher

    async def stop(self) -> None:
        """Go `stop`: the ticker ends and every watcher is told (None, Go closes it)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._log("info", "stopping monitor")
        if task is not asyncio.current_task():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for watcher in self.watchers:
            with contextlib.suppress(asyncio.QueueFull):
                watcher.put_nowait(None)
        self.watchers = []

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self._watch_hypervisor()
            await self._watch_agent()

    async def _watch_hypervisor(self) -> None:
        try:
            await self.sandbox.hypervisor.check()
        except Exception as exc:
            self.notify(E.PING_HYPERVISOR % exc)

    async def _watch_agent(self) -> None:
        try:
            await self.sandbox.agent.check()
        except Exception as exc:
            self.notify(E.PING_AGENT % exc)

    def notify(self, error: str) -> None:
        """Go `notify`: log, mark the agent dead, tell every watcher (a full one drops it)."""
        self._log("warning", f"{E.NOTIFY_ON_ERRORS}: {error}")
        self.sandbox.bus.log(
            "info", E.MARK_AGENT_DEAD, subsystem="kata_agent", sandbox=self.sandbox.id
        )
        mark_dead = getattr(self.sandbox.agent, "mark_dead", None)
        if mark_dead is not None:
            mark_dead(error)
        for watcher in self.watchers:
            self._log("warning", f"write error to watcher: {error}")
            try:
                watcher.put_nowait(error)
            except asyncio.QueueFull:
                self._log("warning", E.WATCHER_FULL, **{"channel-size": WATCHER_CHANNEL_SIZE})

    def _log(self, level: str, message: str, **fields: object) -> None:
        self.sandbox.bus.log(level, message, subsystem=SUBSYSTEM, sandbox=self.sandbox.id, **fields)
