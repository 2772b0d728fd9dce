"""Wiring for host inspection: the live host (procfs/sysfs, psutil, pyroute2, the shim's
socket) or a recording answering every port, optionally recorded as it is asked.

The one place that knows which backend answers which inspection port, as `wiring` is for
the lifecycle; `inspect`, `record` and the console's host source all come through here.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

from kata_console.engine.inspect.extras import HostExtras, gather_extras, host_chains
from kata_console.engine.inspect.report import HostPorts, HostReport


class InspectionError(Exception):
    """The host or recording cannot be inspected (one line)."""


@dataclass(slots=True)
class Inspection:
    """The ports, and what `record` saves at the end (None when not recording)."""

    ports: HostPorts
    recorder: Any = None
    source: str = "live"
    #: the roots a recording was made with (a replay defaults to them)
    recorded_roots: tuple[str, str] | None = None
    #: doctor's extra facts as a recording holds them (`inspect.doctor`), when replaying
    recorded_extras: dict[str, Any] | None = None
    #: doctor's extra facts to save with a recording (set by `host_extras`)
    extras_to_save: dict[str, Any] | None = None

    def save(self, path: str | os.PathLike[str], vc_root: str, kata_root: str) -> None:
        """The whole recording: every file and sysfs answer, plus the inspection facts and
        the roots they were read under."""
        if self.recorder is None:
            raise InspectionError("nothing was recorded")
        files, facts = self.recorder
        files.inspect_data = {**facts.data(), "vc_root": vc_root, "kata_root": kata_root}
        if self.extras_to_save is not None:
            files.inspect_data["doctor"] = self.extras_to_save
        files.save(path)

    def close(self) -> None:
        self.ports.network.close()


def live_ports() -> HostPorts:
    from backends.discovery.hostinfo import LinuxHostInfo
    from backends.discovery.network import PyrouteNetnsSource
    from backends.discovery.processes import PsutilProcesses
    from backends.discovery.shim import HttpShimSource
    from backends.host.linux import LinuxHost

    return HostPorts(
        LinuxHost(), PsutilProcesses(), PyrouteNetnsSource(), HttpShimSource(), LinuxHostInfo()
    )


def open_inspection(snapshot: str | None = None, *, record: bool = False) -> Inspection:
    """A recording (`snapshot`), or the live host; `record` wraps the live ports so that
    `Inspection.save` writes what they answered."""
    if snapshot is not None:
        from backends.host.inspectrec import SnapshotInspect
        from backends.host.snapshot import SnapshotError, SnapshotHost

        try:
            host = SnapshotHost.load(snapshot)
        except FileNotFoundError:
            raise InspectionError(f"{snapshot}: no such recorded host file") from None
        except SnapshotError as exc:
            raise InspectionError(str(exc)) from None
        data = host.inspect_data or {}
        facts = SnapshotInspect(data)
        roots = (data.get("vc_root"), data.get("kata_root"))
        doctor = data.get("doctor")
        return Inspection(
            HostPorts(host, facts, facts, facts, facts),
            source=str(snapshot),
            recorded_roots=roots if all(isinstance(r, str) for r in roots) else None,  # type: ignore[arg-type]
            recorded_extras=doctor if isinstance(doctor, dict) else None,
        )
    ports = live_ports()
    if not record:
        return Inspection(ports)
    from backends.host.inspectrec import RecordingInspect
    from backends.host.snapshot import RecordingHost

    files = RecordingHost(ports.files, description="recorded by kata-console record")
    facts = RecordingInspect(ports.processes, ports.network, ports.shim, ports.info)
    return Inspection(HostPorts(files, facts, facts, facts, facts), (files, facts))


#: the pause between inspect's read of each namespace and doctor's second one
COUNTER_INTERVAL = 0.5


def host_extras(
    insp: Inspection, report: HostReport, *, counter_wait: float | None = None
) -> HostExtras:
    """doctor's extra facts: read from the host (and kept for the recording when recording),
    or replayed; a recording made without them gives `recorded=False`. `counter_wait`:
    seconds between inspect's read of each namespace and the second one (default
    COUNTER_INTERVAL; 0 reads again at once, so no counter can be seen growing)."""
    pause = COUNTER_INTERVAL if counter_wait is None else counter_wait
    if insp.source != "live":
        if insp.recorded_extras is None:
            return HostExtras(recorded=False)
        extras = HostExtras.from_dict(insp.recorded_extras)
        extras.host_chains = host_chains(insp.ports.files, [], report.tables)
        return extras
    devices = [d["host_path"] for s in report.sandboxes for d in s.devices if d.get("host_path")]
    netns = [
        s.network.netns
        for s in report.sandboxes
        if s.network is not None and s.network.netns and not s.network.error
    ]
    extras = gather_extras(
        insp.ports.files,
        insp.ports.network,
        devices,
        netns,
        wait=(lambda: time.sleep(pause)) if pause > 0 else None,
        resolved=report.tables,
    )
    if insp.recorder is not None:
        insp.extras_to_save = extras.to_dict()
    return extras
