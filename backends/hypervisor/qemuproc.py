"""One QEMU process and its QMP connection: launch, negotiate, execute, reap, kill.

Kept apart from the hot-plug logic (`qemu.py`) because what goes wrong here is about the
process (a missing binary, options QEMU refuses, a SIGKILL mid-command, a stuck `quit`),
and each of those must reach the operator as one line naming QEMU, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from qemu.qmp import EventListener, ExecuteError, QMPClient, QMPError

from kata_console.engine.ports import HypervisorError

NOT_RUNNING = "qemu is not running"  # Go `qemu.Check`
# qemu.qmp logs every failed attempt and disconnect at ERROR; what matters reaches the
# engine as a HypervisorError, so its own records stay out of the console and the CLI
logging.getLogger("qemu.qmp").setLevel(logging.CRITICAL)


def exit_text(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by signal {-returncode} ({name})"
    return f"exited with status {returncode}"


class QemuProcess:
    """`qemu-system-*` started in its own session (a terminal's Ctrl-C does not reach it)
    with QMP, pidfile and stderr log in `run_dir` (0700: the socket controls the VM)."""

    def __init__(
        self,
        run_dir: Path,
        *,
        start_timeout: float,
        command_timeout: float,
        on_exit: Callable[[str, int], None] | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.start_timeout = start_timeout
        self.command_timeout = command_timeout
        self.on_exit = on_exit
        self.binary = ""
        self.pid: int | None = None
        self.exit_reason: str | None = None
        self._proc: asyncio.subprocess.Process | None = None
        self._qmp: QMPClient | None = None
        self._reaper: asyncio.Task[None] | None = None

    @property
    def qmp_socket(self) -> Path:
        return self.run_dir / "qmp.sock"

    @property
    def started(self) -> bool:
        return self._proc is not None

    @property
    def running(self) -> bool:
        return self._proc is not None and self.exit_reason is None

    @property
    def returncode(self) -> int | None:
        return None if self._proc is None else self._proc.returncode

    async def launch(self, argv: Sequence[str], name: str) -> None:
        """Start QEMU and negotiate QMP (qemu.qmp sends `qmp_capabilities`); on any failure
        the process is gone and the error says what QEMU said."""
        self.binary = argv[0]
        self.exit_reason = None
        self.prepare_run_dir()
        with open(self.run_dir / "qemu.log", "wb") as log:
            try:
                self._proc = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=log,
                    start_new_session=True,
                )
            except OSError as exc:
                raise HypervisorError(f"{self.binary}: {exc.strerror or exc}") from None
        self.pid = self._proc.pid
        self._reaper = asyncio.get_running_loop().create_task(self._reap(self._proc))
        try:
            await self._connect(name)
        except BaseException:
            await self.kill()
            raise

    async def execute(self, cmd: str, args: dict[str, Any] | None) -> Any:
        """One QMP command: QEMU's reply, or a HypervisorError with QEMU's own error text
        (as govmm returns it) or how the process ended."""
        qmp = self._qmp
        if qmp is None or not self.running:
            raise HypervisorError(self.gone_text(cmd))
        try:
            return await asyncio.wait_for(qmp.execute(cmd, args), self.command_timeout)
        except ExecuteError as exc:
            raise HypervisorError(str(exc)) from None
        except TimeoutError:
            if self.running:
                raise HypervisorError(
                    f"QEMU (pid {self.pid}) did not answer QMP {cmd} within "
                    f"{self.command_timeout:g} s"
                ) from None
            raise HypervisorError(self.gone_text(cmd)) from None
        except (QMPError, OSError, EOFError) as exc:
            if cmd == "quit":
                return {}  # QEMU went away as asked, before its reply
            await self._settle()
            raise HypervisorError(self.gone_text(cmd, exc)) from None

    @contextlib.contextmanager
    def listener(self, event: str, match: Callable[[Any], bool]) -> Iterator[EventListener]:
        if self._qmp is None:
            raise HypervisorError(NOT_RUNNING)
        with self._qmp.listener(event, event_filter=match) as listener:
            yield listener

    async def wait_exit(self, timeout: float) -> bool:
        if self._proc is None:
            return True
        try:
            await asyncio.wait_for(asyncio.shield(self._proc.wait()), timeout)
        except TimeoutError:
            return False
        return True

    async def kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if self._reaper is not None:
            await asyncio.gather(self._reaper, return_exceptions=True)
        if self._qmp is not None:
            with contextlib.suppress(Exception):
                await self._qmp.disconnect()
            self._qmp = None

    def prepare_run_dir(self) -> None:
        d = self.run_dir
        if d.is_symlink():
            raise HypervisorError(f"{d}: a symbolic link, not a VM run directory")
        try:
            d.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(d, 0o700)
            for name in ("qmp.sock", "pid"):
                with contextlib.suppress(FileNotFoundError):
                    (d / name).unlink()
        except OSError as exc:
            raise HypervisorError(f"{d}: {exc.strerror or exc}") from None

    def cleanup(self) -> None:
        """Remove the socket and pidfile; the log too unless QEMU failed (it is the
        evidence of why)."""
        keep_log = self.returncode not in (0, None)
        for name in ["qmp.sock", "pid"] + ([] if keep_log else ["qemu.log"]):
            with contextlib.suppress(OSError):
                (self.run_dir / name).unlink()

    def gone_text(self, cmd: str, exc: BaseException | None = None) -> str:
        if self.exit_reason is not None:
            return f"QEMU (pid {self.pid}) {self.exit_reason} during QMP {cmd}"
        if self._proc is None:
            return NOT_RUNNING
        return f"QMP {cmd}: connection to QEMU (pid {self.pid}) lost: {exc or 'closed'}"

    # ------------------------------------------------------------------ private

    async def _connect(self, name: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.start_timeout
        while True:
            if not self.running:
                await self._settle()
                raise HypervisorError(self._failed_start_text())
            if self.qmp_socket.exists():  # else QEMU has not got there yet
                qmp = QMPClient(name)
                try:
                    await qmp.connect(str(self.qmp_socket))
                    self._qmp = qmp
                    return
                except (QMPError, OSError):
                    with contextlib.suppress(Exception):
                        await qmp.disconnect()
            if loop.time() >= deadline:
                raise HypervisorError(
                    f"QEMU (pid {self.pid}) did not open QMP on {self.qmp_socket} within "
                    f"{self.start_timeout:g} s"
                )
            await asyncio.sleep(0.005)

    async def _reap(self, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        self.exit_reason = exit_text(code)
        if self.on_exit is not None:
            self.on_exit(self.exit_reason, code)

    async def _settle(self) -> None:
        """Give a dying QEMU a moment to be reaped, so the error can say how it ended."""
        if self._reaper is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._reaper), 1.0)

    def _stderr_tail(self) -> str:
        try:
            text = (self.run_dir / "qemu.log").read_text(errors="replace")
        except OSError:
            return ""
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        errors = [ln for ln in lines if "warning:" not in ln] or lines
        return "; ".join(errors[-3:])  # QEMU's error and its hint, on one line

    def _failed_start_text(self) -> str:
        tail = self._stderr_tail()
        return f"{self.binary} {self.exit_reason or 'exited'}" + (f": {tail}" if tail else "")
