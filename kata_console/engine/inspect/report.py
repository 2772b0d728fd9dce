"""Everything a Kata node shows about each sandbox, joined by sandbox ID: its state files,
its processes, its network namespace, its shim socket, its containers' rootfs chains and its
devices on both sides. What `kata-console inspect` prints and the console's host source
shows; the same whether the host is live or a recording.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kata_console.engine.inspect.devices import device_rows
from kata_console.engine.inspect.facts import SHIM, HostFacts, NetnsFacts, ProcessFacts, ShimFacts
from kata_console.engine.inspect.statedir import (
    KATA_ROOT,
    VC_ROOT,
    StateDir,
    read_state_dirs,
)
from kata_console.engine.mounts.chainmodel import Chain, ChainReport
from kata_console.engine.mounts.chains import resolve_chains
from kata_console.engine.mounts.mounttable import MountTable, MountTableError
from kata_console.engine.ports import (
    HostInfoSource,
    HostView,
    NetnsSource,
    ProcessSource,
    ShimSource,
)

NOT_ON_HOST = (
    "no mount at the rootfs on the host: an EROFS rootfs is mounted in the guest (Kata does "
    "not mount it on the host); its layers are the sandbox's devices"
)


@dataclass(slots=True)
class ContainerReport:
    id: str
    state: str
    rootfs: str
    pid: int | None = None
    start_time: str | None = None
    devices: list[str] = field(default_factory=list)
    chain: Chain | None = None
    chain_note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "rootfs": self.rootfs,
            "pid": self.pid,
            "start_time": self.start_time,
            "devices": list(self.devices),
            "chain": self.chain.to_dict() if self.chain is not None else None,
            "chain_note": self.chain_note,
        }


@dataclass(slots=True)
class SandboxReport:
    id: str
    runtime: str
    state: str | None = None
    hypervisor: str | None = None
    state_dir: str = ""
    containers: list[ContainerReport] = field(default_factory=list)
    devices: list[dict[str, Any]] = field(default_factory=list)
    processes: list[ProcessFacts] = field(default_factory=list)
    network: NetnsFacts | None = None
    shim: ShimFacts | None = None
    mount_table: str = ""
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "runtime": self.runtime,
            "state": self.state,
            "hypervisor": self.hypervisor,
            "state_dir": self.state_dir,
            "containers": [c.to_dict() for c in self.containers],
            "devices": self.devices,
            "processes": [p.to_dict() for p in self.processes],
            "network": self.network.to_dict() if self.network is not None else None,
            "shim": self.shim.to_dict() if self.shim is not None else None,
            "mount_table": self.mount_table,
            "files": list(self.files),
            "errors": list(self.errors),
        }


@dataclass(slots=True)
class HostReport:
    host: HostFacts
    sandboxes: list[SandboxReport]
    warnings: list[str] = field(default_factory=list)
    #: Kata processes whose sandbox has no state directory (named in `warnings` too;
    #: kept as facts for `doctor`, not part of `inspect`'s JSON)
    unclaimed: list[ProcessFacts] = field(default_factory=list)
    #: mount table text -> its resolved chains, as this inspection resolved them (doctor
    #: reuses the host's instead of resolving it again)
    tables: dict[str, ChainReport] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host.to_dict(),
            "sandboxes": [s.to_dict() for s in self.sandboxes],
            "warnings": list(self.warnings),
        }


@dataclass(slots=True)
class HostPorts:
    """The ports one inspection asks (a live host, or one recording answering them all)."""

    files: HostView
    processes: ProcessSource
    network: NetnsSource
    shim: ShimSource
    info: HostInfoSource


def inspect_host(
    ports: HostPorts, *, vc_root: str = VC_ROOT, kata_root: str = KATA_ROOT, metrics: bool = False
) -> HostReport:
    """One pass over the host: state directories, one process scan, then per sandbox its
    namespace, shim socket, mount table and chains. Raises `StateRootMissing` only when
    `vc_root` does not exist; everything else becomes a sandbox error or a warning."""
    dirs, warnings = read_state_dirs(ports.files, vc_root, kata_root)  # type: ignore[arg-type]
    processes = list(ports.processes.scan())
    by_sandbox: dict[str, list[ProcessFacts]] = {}
    for p in processes:
        if p.sandbox_id is not None:
            by_sandbox.setdefault(p.sandbox_id, []).append(p)
    tables: dict[str, ChainReport] = {}  # one resolution per distinct mount table
    holders: dict[int, dict[str, Any]] = {}  # device_rows' backing-file index per table
    sandboxes = [_sandbox(ports, d, by_sandbox, processes, metrics, tables, holders) for d in dirs]
    known = {d.sandbox_id for d in dirs}
    unclaimed: list[ProcessFacts] = []
    for sid in sorted(set(by_sandbox) - known):
        roles = ", ".join(sorted({p.role for p in by_sandbox[sid]}))
        warnings.append(f"sandbox {sid}: {roles} running but no state directory")
        unclaimed.extend(by_sandbox[sid])
    return HostReport(ports.info.host_facts(), sandboxes, warnings, unclaimed, tables)


def _sandbox(
    ports: HostPorts,
    sd: StateDir,
    by_sandbox: dict[str, list[ProcessFacts]],
    processes: list[ProcessFacts],
    metrics: bool,
    tables: dict[str, ChainReport],
    holders: dict[int, dict[str, Any]],
) -> SandboxReport:
    rep = SandboxReport(sd.sandbox_id, sd.runtime, state_dir=sd.path, files=sd.entries)
    rep.errors.extend(sd.errors)
    rep.processes = _processes_of(sd, by_sandbox, processes)
    shim_pid = next((p.pid for p in rep.processes if p.role == SHIM and not p.error), None)
    chains = _chains(ports.files, shim_pid, rep, tables)
    doc = sd.doc
    if doc is not None:
        rep.state = doc["State"] or None
        rep.hypervisor = doc["Config"]["HypervisorType"] or doc["HypervisorState"]["Type"] or None
        rep.devices = device_rows(doc, chains, holders)
        rep.containers = [_container(c, sd.containers.get(c["ID"]), chains) for c in _configs(doc)]
        for c in rep.containers:
            path = f"{sd.path}/{c.id}/persist.json"
            if c.state == "unknown" and not any(e.startswith(path) for e in rep.errors):
                rep.errors.append(f"{path}: missing")
        netns = doc["Network"]["NetworkID"]
        rep.network = (
            ports.network.inspect(netns)
            if netns
            else NetnsFacts("", error="persist.json names no network namespace")
        )
    if sd.runtime == "go" or "shim-monitor.sock" in sd.entries:
        rep.shim = ports.shim.agent_url(sd.shim_socket)
        if metrics and rep.shim.reachable:  # on request only: the shim asks the guest
            figures = ports.shim.metrics(sd.shim_socket)
            rep.shim.metrics = figures.metrics
            if figures.error and not rep.shim.error:
                rep.shim.error = figures.error
    return rep


def _configs(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return list(doc["Config"]["ContainerConfigs"] or ())


def _processes_of(
    sd: StateDir, by_sandbox: dict[str, list[ProcessFacts]], processes: list[ProcessFacts]
) -> list[ProcessFacts]:
    """Found by the sandbox ID in their argv, and by the pids persist.json records
    (`HypervisorState.Pid`, `VirtiofsDaemonPid`) when the argv did not say."""
    found = {p.pid: p for p in by_sandbox.get(sd.sandbox_id, [])}
    if sd.doc is not None:
        hs = sd.doc["HypervisorState"]
        for pid in (hs["Pid"], hs["VirtiofsDaemonPid"]):
            if pid and pid not in found:
                match = next((p for p in processes if p.pid == pid), None)
                # a reused pid now running another sandbox's process is not this one's
                if match is not None and match.sandbox_id in (None, sd.sandbox_id):
                    found[pid] = match
    return [found[pid] for pid in sorted(found)]


def _chains(
    files: HostView, shim_pid: int | None, rep: SandboxReport, tables: dict[str, ChainReport]
) -> ChainReport | None:
    """The chains as the shim sees them: its mount namespace's table, else the host's."""
    text: str | None = None
    if shim_pid is not None:
        try:
            text = files.read_mountinfo(shim_pid)
            rep.mount_table = f"/proc/{shim_pid}/mountinfo"
        except OSError as exc:
            rep.errors.append(f"/proc/{shim_pid}/mountinfo: {(exc.strerror or str(exc)).lower()}")
    if text is None:
        try:
            text = files.read_mountinfo(None)
            rep.mount_table = "host"
        except OSError as exc:
            rep.errors.append(f"mount table: {(exc.strerror or str(exc)).lower()}")
            return None
    if text in tables:  # shims sharing the host's mount namespace see the same table
        return tables[text]
    try:
        tables[text] = report = resolve_chains(MountTable(text), files)
        return report
    except MountTableError as exc:
        rep.errors.append(f"{rep.mount_table}: {exc}")
        return None


def _container(
    cfg: dict[str, Any], doc: dict[str, Any] | None, chains: ChainReport | None
) -> ContainerReport:
    c = ContainerReport(cfg["ID"], "", cfg["RootFs"])
    if doc is not None:
        c.state = doc["State"]
        c.pid = doc["Process"]["Pid"]
        c.start_time = doc["Process"]["StartTime"]
        c.devices = [m["ID"] for m in doc["DeviceMaps"] or ()]
    else:
        c.state = "unknown"
    if chains is not None and c.rootfs:
        c.chain = next((ch for ch in chains.chains if ch.target == c.rootfs), None)
        if c.chain is None:
            c.chain_note = NOT_ON_HOST
    return c
