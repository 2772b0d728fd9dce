"""Kata's processes on this host, found and described with psutil (`ProcessSource`).

A scan is one `process_iter(["pid", "name", "cmdline"])` pass, the cheapest walk of
/proc that still sees full names and argv, then a description of the few matches inside
`oneshot()` (one read of /proc/<pid>/stat and status for all the getters). The
benchmark holds the scan to 1.2x a bare pass with 2,000 unrelated processes around.

The `Process` objects of the matches are kept between scans: CPU % is a difference of
two samples, so a process seen for the first time has `cpu_percent` None (psutil's first
answer, 0.0, would claim an idle VM), and a real figure from the next scan on. A kept
object is checked against the PID's current occupant (psutil compares pid and start
time), so a PID the kernel handed to a new process starts over instead of mixing two
processes' CPU times.

Everything a process can do between two reads is a status, never an exception: it
exits (`error="exited"`), it is a zombie (`status="zombie"`, and what could still be
read), or a getter is refused (`error="access-denied"`, the rest still read). Nothing
here writes or signals: it only reads /proc through psutil.

`children` lists the Kata processes of the same scan whose parent is this one (a shim's
VMM and virtiofsd). psutil's `children()` would re-read /proc/<pid>/stat of every process
on the host for each shim, which costs as much as the scan itself, and the kernel's
/proc/<pid>/task/<tid>/children is optional and, by its own documentation, unreliable
for running processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import psutil

from backends.discovery.kataargv import KataIdentity, identify, role_of
from kata_console.engine.inspect.facts import SHIM, ProcessFacts

T = TypeVar("T")

EXITED, ACCESS_DENIED, ZOMBIE = "exited", "access-denied", psutil.STATUS_ZOMBIE
_ATTRS = ["pid", "name", "cmdline"]


class _Gone(Exception):
    """The process exited between two reads."""


@dataclass(slots=True)
class _Match:
    proc: psutil.Process
    name: str
    argv: list[str]
    identity: KataIdentity


class PsutilProcesses:
    """`ProcessSource` on the live host. Keep one instance for the life of a console
    (CPU % needs the previous scan's samples); `scan()` may run in a worker thread, and
    scans of one instance never overlap."""

    def __init__(self) -> None:
        self._known: dict[int, psutil.Process] = {}
        self._lock = threading.Lock()

    def scan(self) -> list[ProcessFacts]:
        with self._lock:
            matches = self._matches()
            known: dict[int, psutil.Process] = {}
            facts = [self._describe(m, known) for m in matches]
            self._known = known
        return _joined(facts, matches)

    # ----------------------------------------------------------------- the pass

    @staticmethod
    def _matches() -> list[_Match]:
        """One pass over every process; only a name test per process, the argv parsed
        for the few that are Kata's."""
        out: list[_Match] = []
        for proc in psutil.process_iter(_ATTRS, ad_value=None):
            info = proc.info
            argv = info["cmdline"] or []
            found = role_of(info["name"], argv[0] if argv else None)
            if found is None:
                continue
            role, name = found
            # an argv refused (or a zombie's, empty) gives a role without a sandbox
            out.append(_Match(proc, name, argv, identify(role, name, argv)))
        return out

    # ------------------------------------------------------------- description

    def _current(self, pid: int) -> tuple[psutil.Process, bool]:
        """(the object to sample, whether this is its first sample). A kept object is
        used while it is still the PID's occupant; otherwise a fresh one of our own, not
        psutil's cached one, whose CPU samples another caller may be taking. Raises
        `_Gone`."""
        kept = self._known.get(pid)
        if kept is not None and kept.is_running():
            return kept, False
        try:
            return psutil.Process(pid), True
        except psutil.NoSuchProcess:
            raise _Gone from None

    def _describe(self, m: _Match, known: dict[int, psutil.Process]) -> ProcessFacts:
        ident = m.identity
        facts = ProcessFacts(
            pid=m.proc.pid,
            name=m.name,
            role=ident.role,
            sandbox_id=ident.sandbox_id,
            cmdline=m.argv,
        )
        problems: list[str] = [ident.error] if ident.error else []
        try:
            proc, first = self._current(m.proc.pid)
            with proc.oneshot():
                _read_all(proc, first, facts, problems)
            known[proc.pid] = proc
        except _Gone:
            facts.status = EXITED
            problems.append(EXITED)
        else:
            if m.proc.info["cmdline"] is None and facts.status != ZOMBIE:
                problems.append(ACCESS_DENIED)  # the argv itself was refused
        facts.error = "; ".join(dict.fromkeys(problems)) or None
        return facts


def _read_all(proc: psutil.Process, first: bool, facts: ProcessFacts, problems: list[str]) -> None:
    """Every getter on its own: one refused or a zombie's missing file leaves the rest.
    Raises `_Gone` as soon as one says the process no longer exists."""

    def get(fn: Callable[[], T]) -> T | None:
        try:
            return fn()
        except psutil.ZombieProcess:  # a NoSuchProcess, but the entry is still there
            facts.status = ZOMBIE
            return None
        except psutil.NoSuchProcess:
            raise _Gone from None
        except psutil.AccessDenied:
            if ACCESS_DENIED not in problems:
                problems.append(ACCESS_DENIED)
            return None

    status = get(proc.status)  # psutil answers "zombie" itself here
    facts.status = status or facts.status or ACCESS_DENIED
    facts.ppid = get(proc.ppid)
    facts.create_time = get(proc.create_time)
    cpu = get(lambda: proc.cpu_percent(None))
    facts.cpu_percent = None if first else cpu
    mem = get(proc.memory_info)
    facts.rss = mem.rss if mem is not None else None
    facts.threads = get(proc.num_threads)
    facts.fds = get(proc.num_fds)


def _joined(facts: list[ProcessFacts], matches: list[_Match]) -> list[ProcessFacts]:
    """Drop VMMs and virtiofsds that are neither marked as Kata's in their argv nor
    children of a Kata shim (a libvirt VM, a virtiofsd for something else); give the
    unmarked children of a shim the shim's sandbox; fill in `children`."""
    shims = {f.pid: f for f in facts if f.role == SHIM}
    kept: list[ProcessFacts] = []
    for f, m in zip(facts, matches, strict=True):
        parent = shims.get(f.ppid) if f.ppid is not None else None
        if f.role != SHIM and not m.identity.marked:
            if parent is None:
                continue
            f.sandbox_id = parent.sandbox_id
        kept.append(f)
    by_pid = {f.pid: f for f in kept}
    for f in kept:
        parent = by_pid.get(f.ppid) if f.ppid is not None else None
        if parent is not None and parent.pid != f.pid:
            parent.children.append(f.pid)
    return kept
