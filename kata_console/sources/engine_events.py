"""What the console does with the engine's events and its agents' lives: log lines and
state changes from the bus, each sandbox's health monitor, a dead agent's conclusion, the
exit of a killed process, and container stdout tails. Part of `EngineSource` (a mixin:
the state lives there)."""

from __future__ import annotations

import asyncio
import contextlib

from kata_console.engine.lifecycle.events import (
    LOG,
    STATE,
    STEP_BEGIN,
    STEP_END,
    Event,
)
from kata_console.engine.lifecycle.sandbox import Sandbox
from kata_console.sources.model import (
    ConsoleError,
    LogLine,
    SourceEvent,
    StateChanged,
    exit_text,
)

#: sandbox states in which an agent runs and can be asked
LIVE_STATES = frozenset({"ready", "running", "paused"})
#: seconds the console's own Check may take before the agent counts as not answering
PROBE_TIMEOUT = 5.0

#: the console's line when it gives up on an agent (not a Kata text)
AGENT_DEAD_CONCLUSION = "kata-console: treating the agent as dead"


class EngineEvents:
    """`EngineSource`'s handling of engine events and agent processes."""

    def _on_event(self, e: Event) -> None:
        if self.agent.apply(e):
            self._emit(StateChanged(e.sandbox))
        if e.kind == STATE and e.container and e.fields.get("new") == "running":
            self.exits.pop((e.sandbox, e.container), None)  # started again: a new process
        fields = {**e.fields, "sandbox": e.sandbox}
        if e.container:
            fields["container"] = e.container
        if e.kind == STEP_BEGIN:
            line = LogLine(e.time, "engine", "info", f"> {e.text}", fields)
        elif e.kind == STEP_END:
            if e.error:
                line = LogLine(e.time, "engine", "error", f"! {e.text}: {e.error}", fields)
            else:
                ms = (e.duration or 0) * 1000
                line = LogLine(e.time, "engine", "debug", f"  done {e.text} ({ms:.1f} ms)", fields)
        elif e.kind in (LOG, STATE):
            line = LogLine(e.time, "engine", e.level, e.text, fields)
        else:
            return
        self._history.append(line)
        self._emit(line)
        if e.kind == STATE:
            self._emit(StateChanged(e.sandbox, e.container))

    def _watch(self, sb: Sandbox) -> None:
        """What Go's shim does once a sandbox started (`watchSandbox`): wait on the health
        monitor. On an error Go's shim stops and deletes the sandbox, and the delete stops
        the monitor; the console stops the monitor too (it would otherwise notify every
        interval), says what it concluded, and keeps the sandbox for the operator to see."""
        if sb.id in self._watches:
            return
        watcher = sb.monitor(self.health_interval)

        async def watch() -> None:
            error = await watcher.get()
            if error is not None:
                await sb.stop_monitor()
                self._agent_dead(sb.id, error)

        self._watches[sb.id] = asyncio.get_running_loop().create_task(watch())

    async def _probe_agents(self) -> None:
        """The console's own health check, beside Go's monitor (which runs for a running
        sandbox only and is silent while the agent answers): every live agent whose last
        answer is older than the health interval is asked `Check`. Not a step: a
        step-through never waits on it, and the log does not fill with it."""
        while True:
            await asyncio.sleep(self.health_interval)
            due = [sb for sb in list(self.sandboxes.values()) if self._probe_due(sb)]
            for sb in [sb for sb in due if sb.monitoring]:
                # Go's monitor asked `Check` within the interval and would have notified a
                # failure (the badge turns at once then): its silence is an answer
                due.remove(sb)
                self.agent.set(
                    sb.id,
                    "ok",
                    f"Check answered (the health monitor's, every {self.health_interval:g} s)",
                )
                self._emit(StateChanged(sb.id))
            await asyncio.gather(*(self._probe_one(sb) for sb in due))

    def _probe_due(self, sb: Sandbox) -> bool:
        if sb.id not in self._closers or sb.state not in LIVE_STATES:
            return False  # its agent went with its VM, or it has none yet
        if self.agent.health(sb.id)[0] in ("dead", "stopped"):
            return False  # concluded already: nothing to measure again
        at = self.agent.measured_at(sb.id)
        return at is None or (self.now() - at).total_seconds() >= self.health_interval

    async def _probe_one(self, sb: Sandbox) -> None:
        try:
            await asyncio.wait_for(sb.agent.check(), PROBE_TIMEOUT)
        except Exception as exc:  # the agent's own text, or no answer in time
            if sb.id in self._closers:  # not stopped while it was asked
                self._agent_dead(sb.id, f"the console's Check: {exc or 'no answer'}")
            return
        self.agent.set(sb.id, "ok", "Check answered")
        self._emit(StateChanged(sb.id))  # the evidence's age is on screen

    def _agent_dead(self, sandbox_id: str, reason: str) -> None:
        """The console's own conclusion (Kata's runtime says `mark agent dead` and nothing
        an operator sees): the agent does not answer, its badge turns red. Said once per
        reason: the monitor's watcher and the agent's own death notice often both report it."""
        if self._concluded.get(sandbox_id) == reason:
            return
        self._concluded[sandbox_id] = reason
        self._console_line(sandbox_id, None, "error", f"{AGENT_DEAD_CONCLUSION}: {reason}")
        if self.agent.health(sandbox_id)[0] != "stopped":
            self.agent.dead(sandbox_id, reason)
        self._emit(StateChanged(sandbox_id))

    def _console_line(self, sandbox_id: str, cid: str | None, level: str, text: str) -> None:
        """A line of the console's own (not the engine's), scoped to its resource."""
        fields = {"sandbox": sandbox_id, "subsystem": "console"}
        if cid:
            fields["container"] = cid
        line = LogLine(self.now(), "console", level, text, fields)
        self._history.append(line)
        self._emit(line)

    async def _await_exit(self, sb: Sandbox, cid: str) -> str:
        """What the shim's wait does after a kill: WaitProcess for the container's process,
        whose status says how it ended. The engine's state is left as the engine holds it
        (Kata's shim would stop the container now; the console only does what it showed)."""
        try:
            status = await asyncio.wait_for(sb.wait_process(cid, cid), self.kill_wait)
        except TimeoutError:
            note = (
                f"signal sent; no exit within {self.kill_wait:g} s (WaitProcess): the process "
                "still runs"
            )
        except Exception as exc:  # the engine's or the agent's text, as it came
            note = f"signal sent; WaitProcess failed: {exc}"
        else:
            self.exits[(sb.id, cid)] = exit_text(status)
            note = f"process exited {exit_text(status)} (WaitProcess)"
        c = sb.containers.get(cid)
        held = f"the engine holds {cid} {c.state}" if c is not None else f"{cid} is gone"
        text = f"{note}; {held}"
        if c is not None and c.state == "running" and (sb.id, cid) in self.exits:
            text += " (x stops it and releases its devices)"
        self._console_line(sb.id, cid, "info", f"kill {cid}: {text}")
        self._emit(StateChanged(sb.id, cid))
        return text

    def _engine_sandbox(self, sandbox_id: str) -> Sandbox:
        sb = self.sandboxes.get(sandbox_id) or self._deleted.get(sandbox_id)
        if sb is None:
            raise ConsoleError(f"no sandbox {sandbox_id}")
        return sb

    def _vm_gone(self, sb: Sandbox) -> bool:
        """Its VM was stopped (the sim hypervisor says so) or its agent went with it."""
        return sb.id not in self._closers or getattr(sb.hypervisor, "running", True) is False

    def _tail(self, sb: Sandbox, cid: str) -> None:
        """Stream the container's stdout from the agent (ReadStdout) into the log."""
        lines = getattr(sb.agent, "stdout_lines", None)
        if lines is None or (sb.id, cid) in self._tails:
            return

        async def tail() -> None:
            with contextlib.suppress(Exception):
                async for text in lines(cid):
                    line = LogLine(
                        self.now(),
                        "stdout",
                        "info",
                        text,
                        {"sandbox": sb.id, "container": cid, "subsystem": "stdout"},
                    )
                    self._history.append(line)
                    self._emit(line)
            self._tails.pop((sb.id, cid), None)

        self._tails[(sb.id, cid)] = asyncio.get_running_loop().create_task(tail())

    def _note(self, sandbox_id: str, text: str) -> None:
        line = LogLine(
            self.now(),
            "console",
            "warning",
            f"sandbox {sandbox_id}: {text}",
            {"sandbox": sandbox_id},
        )
        self._history.append(line)
        self._emit(line)

    def _emit(self, event: SourceEvent) -> None:
        for callback in tuple(self._subscribers):
            with contextlib.suppress(Exception):
                callback(event)
