"""`HostSource`: a Kata node, read-only, live or replayed from a recording.

Each load is one inspection (`kata_console.engine.inspect.report`): the state directories,
one process scan, each sandbox's network namespace and shim socket, its containers' chains
in the shim's mount table and its devices on both sides. It runs in a worker thread (it
reads procfs and sysfs, forks into namespaces, asks sockets), on one `Inspection` kept for
the source's life, so psutil's CPU deltas and the namespace handles carry over between
refreshes. Lifecycle operations are refused: this source drives no Kata runtime.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import os
import threading
from collections.abc import Callable

from kata_console.engine.clock import from_unix
from kata_console.engine.doctor import Finding, checked, findings_for
from kata_console.engine.inspect.facts import SHIM, HostFacts
from kata_console.engine.inspect.report import HostReport, SandboxReport, inspect_host
from kata_console.engine.inspect.statedir import KATA_ROOT, VC_ROOT, StateRootMissing
from kata_console.engine.mounts.chainmodel import ChainReport
from kata_console.engine.mounts.chains import resolve_chains
from kata_console.engine.mounts.mounttable import MountTable
from kata_console.engine.ports import Clock
from kata_console.inspection import Inspection, InspectionError, host_extras, open_inspection
from kata_console.sources.model import (
    ConsoleError,
    ContainerView,
    DeviceView,
    LogLine,
    Operation,
    SandboxView,
    SourceEvent,
    Unsubscribe,
)
from kata_console.sources.rawdocs import RawDocument, Target, state_document, view_document

EMPTY_NOTICE = "no Kata sandboxes in this host's state directories; C shows its mount chains"


class HostSource:
    """Read-only view of a Kata node (`snapshot`: a recording made by `record`)."""

    demo = False
    #: the sandbox view adds the host's side of devices, processes and the network
    inspects_host = True
    #: no engine runs here, so no engine log: the sandbox view gives its room to the panels
    has_logs = False

    def __init__(
        self,
        *,
        vc_root: str | None = None,
        kata_root: str | None = None,
        snapshot: str | None = None,
        read_only: bool = True,
        clock: Clock | None = None,
    ) -> None:
        """Args:
        clock: the clock ages and "refreshed" are measured with (tests freeze it).
        """
        self._clock = clock
        self.name = f"snapshot:{os.path.basename(snapshot)}" if snapshot else "host"
        self.read_only = read_only
        #: a recording has no shim to ask for metrics
        self.asks_shims = snapshot is None
        self.read_only_reason = (
            "the host source inspects a live machine"
            if snapshot is None
            else "a recording cannot be changed"
        )
        try:
            self._inspection: Inspection = open_inspection(snapshot)
        except InspectionError as exc:
            raise ValueError(str(exc)) from None
        recorded = self._inspection.recorded_roots or (VC_ROOT, KATA_ROOT)
        self.vc_root = vc_root or recorded[0]
        self.kata_root = kata_root or recorded[1]
        self.report: HostReport | None = None
        #: doctor's findings on the last inspection, worst first
        self.findings: list[Finding] = []
        #: False when the last inspection found nothing for the rules to run on
        self.findings_ran = True
        #: what doctor's rules could not check on the last inspection, and why ("" none)
        self.findings_gap = ""
        #: why the last inspection found no Kata state at all ("" when it did)
        self.state_error = ""
        self._host_facts: HostFacts | None = None
        #: sandbox -> the shim's figures, fetched on request only (`metrics`)
        self._metrics: dict[str, dict[str, float]] = {}
        self.refreshed: _dt.datetime | None = None
        self._lock = threading.Lock()  # one inspection at a time on the shared ports
        self._subscribers: list[Callable[[SourceEvent], None]] = []

    def now(self) -> _dt.datetime:
        return self._clock.now() if self._clock is not None else _dt.datetime.now(_dt.UTC)

    def _inspect(self) -> HostReport:
        with self._lock:
            report = inspect_host(
                self._inspection.ports, vc_root=self.vc_root, kata_root=self.kata_root
            )
            # doctor's rules over the same inspection; the console does not pause between
            # two namespace reads (`doctor` does), so growing counters are doctor's to see
            extras = host_extras(self._inspection, report, counter_wait=0)
            self.findings = findings_for(report, extras)
            skipped = checked(report, extras)["rules_skipped"]
            self.findings_ran = True
            self.findings_gap = (
                f"{', '.join(skipped)}: the recording has no host facts for them" if skipped else ""
            )
            return report

    def _no_state(self, why: str) -> None:
        """A machine without Kata state: inspected, and nothing for doctor to check (as
        `doctor` says with its exit 2); the host's own facts are still read."""
        with self._lock:
            try:
                self._host_facts = self._inspection.ports.info.host_facts()
            except Exception:  # the header then names no machine, the reason stays
                self._host_facts = None
        self.findings, self.findings_ran = [], False
        self.findings_gap = f"doctor's rules did not run: {why}"

    async def load(self) -> list[SandboxView]:
        try:
            report = await asyncio.to_thread(self._inspect)
        except StateRootMissing as exc:  # a machine without Kata: nothing to list
            self.report, self.state_error = None, str(exc)
            await asyncio.to_thread(self._no_state, str(exc))
            self.refreshed = self.now()
            return []
        self.report, self.refreshed, self.state_error = report, self.now(), ""
        return [sandbox_view(s, self._metrics.get(s.id)) for s in report.sandboxes]

    #: the host source inspects; it never drives a Kata runtime (even with --allow-actions)
    drives_runtime = False

    async def metrics(self, sandbox_id: str) -> str:
        """Ask this sandbox's shim for `GET /metrics` (it asks the guest agent: on request
        only, never per refresh); the figures show in the sandbox's facts from then on."""
        found = (
            next((s for s in self.report.sandboxes if s.id == sandbox_id), None)
            if self.report
            else None
        )
        if found is None or found.shim is None:
            raise ConsoleError(f"sandbox {sandbox_id} has no shim socket to ask")
        socket = found.shim.socket
        facts = await asyncio.to_thread(self._inspection.ports.shim.metrics, socket)
        if facts.error:
            raise ConsoleError(f"metrics of {sandbox_id}: {facts.error}")
        self._metrics[sandbox_id] = dict(facts.metrics or {})
        return f"metrics of {sandbox_id}: {len(self._metrics[sandbox_id])} figures"

    def header(self) -> str:
        """The host line of the top bar: name, kernel, CPUs, memory, when refreshed."""
        if self.state_error:
            h = self._host_facts
            machine = f"  {h.hostname or '?'}  {h.kernel or '?'}" if h is not None else ""
            return f"no Kata state: {self.state_error}{machine}"
        if self.report is None:
            return "host: not inspected yet"
        h = self.report.host
        mem = f"{h.mem_available >> 20}/{h.mem_total >> 20} MiB free" if h.mem_total else ""
        return f"{h.hostname or '?'}  {h.kernel or '?'}  {h.cpus} CPUs  {mem}".rstrip()

    async def chains(self) -> ChainReport:
        files = self._inspection.ports.files
        return await asyncio.to_thread(
            lambda: resolve_chains(MountTable(files.read_mountinfo()), files)
        )

    def logs(self) -> list[LogLine]:
        return []

    def subscribe(self, callback: Callable[[SourceEvent], None]) -> Unsubscribe:
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def describe(self, op: Operation) -> str:
        return f"{op.op} {op.target}"

    def refusal(self, op: Operation) -> str | None:
        """Asked before confirming: no operation can apply (even with --allow-actions)."""
        return f"{self.read_only_reason}, and drives no Kata runtime"

    async def run_op(self, op: Operation) -> None:
        raise ConsoleError(f"{op.op} refused: {self.read_only_reason}, and drives no Kata runtime")

    async def close(self) -> None:
        await asyncio.to_thread(self._inspection.close)

    async def raw_document(self, target: Target, sandboxes: list[SandboxView]) -> RawDocument:
        """The persist.json behind a sandbox, container or device as this host's files
        hold it (read again, so it is what is there now): the describe view's text."""
        report = self.report
        found = next((s for s in report.sandboxes if s.id == target[1]), None) if report else None
        if found is None:
            return view_document(target, sandboxes, "not in the last inspection")
        directory = found.state_dir

        def fallback() -> RawDocument:
            return view_document(target, sandboxes, f"no persist.json under {directory}")

        return await asyncio.to_thread(
            state_document, target, directory, self._read_state_file, fallback
        )

    def _read_state_file(self, path: str) -> bytes:
        with self._lock:  # the ports are shared with a refresh that may be running
            return self._inspection.ports.files.read_bytes(path)


def _figure(key: str, value: float) -> tuple[str, str]:
    name = key.removesuffix("_bytes")
    return (name, f"{value / (1 << 20):.1f} MiB" if key.endswith("_bytes") else f"{value:g}")


def sandbox_view(s: SandboxReport, metrics: dict[str, float] | None = None) -> SandboxView:
    """The console's picture of one inspected sandbox (`metrics`: figures asked for)."""
    shim = next((p for p in s.processes if p.role == SHIM and p.create_time), None)
    created = from_unix(shim.create_time) if shim is not None else None
    facts = [("state dir", s.state_dir), ("runtime", s.runtime)]
    if s.shim is not None:
        facts.append(("shim", f"agent {s.shim.agent_url}" if s.shim.reachable else "unreachable"))
    if s.network is not None:
        facts.append(("netns", s.network.netns or "-"))
    if s.mount_table:
        facts.append(("mount table", s.mount_table))
    facts += [_figure(k, v) for k, v in sorted((metrics or {}).items())]
    return SandboxView(
        id=s.id,
        state=s.state or "unknown",
        hypervisor=s.hypervisor or "-",
        agent_health="unknown",  # the guest agent is behind the shim: never asked from here
        containers=[_container_view(s, c) for c in s.containers],
        devices=[
            DeviceView(
                d["id"],
                d["host_path"],
                d["kind"],
                d["refcount"],
                d["attach_count"],
                d["index"],
                d["address"],
                d["read_only"],
                host_side=", ".join(d["host"]["mounts"]) if d.get("host") else "not on the host",
                host_device=_host_device(d.get("host")),
            )
            for d in s.devices
        ],
        created=created,
        facts=facts,
        processes=list(s.processes),
        network=s.network,
        shim=s.shim,
        errors=list(s.errors),
    )


def _host_device(host: dict[str, object] | None) -> str | None:
    """`loop0 7:0` of `inspect --json`'s device `host`, with its status when it is not ok
    (None: the host has no device for it)."""
    if not host:
        return None
    named = " ".join(str(host[k]) for k in ("device", "majmin") if host.get(k))
    status, reason = host.get("status"), host.get("reason")
    if status and status != "ok":
        named = f"{named} ({status}{f': {reason}' if reason else ''})".strip()
    return named or None


def _container_view(s: SandboxReport, c: object) -> ContainerView:
    from kata_console.engine.inspect.report import ContainerReport

    assert isinstance(c, ContainerReport)
    chain = c.chain
    erofs = chain.erofs if chain is not None else bool(c.devices)
    kata_error = None
    if chain is not None:
        kata_error = next((layer.kata_error for layer in chain.layers if layer.kata_error), None)
    return ContainerView(
        id=c.id,
        sandbox_id=s.id,
        state=c.state,
        rootfs_kind="erofs" if erofs else "overlay",
        layers=len(chain.layers) if chain is not None else len(c.devices),
        pid=c.pid if c.pid and c.pid > 0 else None,
        chain=chain,
        kata_error=kata_error,
        devices=list(c.devices),
    )
