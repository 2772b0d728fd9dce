"""What a Kata host shows about its sandboxes, outside the VM: processes, network
namespaces, the shim's management socket, the host itself.

Plain data, gathered by backends (psutil, pyroute2, httpx) behind the ports in
`kata_console.engine.ports`, recorded into host snapshots and replayed from them, so every
type here round-trips through `to_dict`/`from_dict` (the `inspect --json` shapes). A fact
that could not be had is a status with its reason (`error`), never an exception: a process
that exits between two reads, a namespace that is gone, a shim that does not answer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T")

#: process roles, by what Kata starts (host-and-deps.md §2.1)
SHIM, VMM, VIRTIOFSD = "shim", "vmm", "virtiofsd"
#: a process's `status` when it is shown from a recording: not read now, maybe not alive
RECORDED = "recorded"
#: the eight counters the kernel and Kata's agent both report per link
LINK_COUNTERS = (
    "rx_bytes",
    "rx_packets",
    "rx_errors",
    "rx_dropped",
    "tx_bytes",
    "tx_packets",
    "tx_errors",
    "tx_dropped",
)


def _from(cls: type[T], data: dict[str, Any]) -> T:
    """Build a facts dataclass from its dict, ignoring keys it does not have (a newer
    recording) and leaving missing ones at their defaults (an older one)."""
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(slots=True)
class ProcessFacts:
    """One Kata process: the shim (`containerd-shim-kata-v2 ... -id <sid>`), a VMM
    (`qemu-system-* -name sandbox-<sid>`, cloud-hypervisor, firecracker) or virtiofsd
    (`--shared-dir=.../shared/sandboxes/<sid>/shared`). `status` is psutil's, or
    "exited"/"access-denied" when the process could not be described, or `RECORDED`
    when it comes from a recording shown beside live facts (the demo's node)."""

    pid: int
    name: str
    role: str
    sandbox_id: str | None
    cmdline: list[str] = field(default_factory=list)
    ppid: int | None = None
    status: str = ""
    create_time: float | None = None
    cpu_percent: float | None = None
    rss: int | None = None
    threads: int | None = None
    fds: int | None = None
    children: list[int] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProcessFacts:
        return _from(cls, data)


@dataclass(slots=True)
class LinkFacts:
    """A network link in a sandbox's namespace. `kind` is the kernel's (`veth`, `tun` for
    a tap, `macvtap`, ...); `tun_type` tells a `tun` link's mode apart ("tap" or "tun"),
    since the kernel gives both the same kind; `stats` holds `LINK_COUNTERS`."""

    index: int
    name: str
    kind: str = ""
    mac: str = ""
    mtu: int = 0
    operstate: str = ""
    peer_index: int | None = None
    peer_netnsid: int | None = None
    stats: dict[str, int] = field(default_factory=dict)
    tun_type: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkFacts:
        return _from(cls, data)


@dataclass(slots=True)
class Redirect:
    """One tc ingress filter of Kata's tcfilter model: traffic arriving on `src` is
    redirected (`mirred egress redirect`) out of `dst`. `packets`/`bytes` are what the
    action handled; `overlimits` what it could not send on (for mirred: `dst` down or
    without carrier, e.g. a tap no VM holds), so a redirect that exists but drops shows."""

    src: str
    dst: str
    action: str = "mirred egress redirect"
    packets: int | None = None
    bytes: int | None = None
    overlimits: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Redirect:
        return _from(cls, data)


@dataclass(slots=True)
class NetnsFacts:
    """A sandbox's network namespace as the host sees it (`Network.NetworkID` in
    persist.json). `error` says why nothing could be read ("missing", a permission)."""

    netns: str
    links: list[LinkFacts] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "netns": self.netns,
            "links": [link.to_dict() for link in self.links],
            "redirects": [r.to_dict() for r in self.redirects],
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NetnsFacts:
        return cls(
            netns=data["netns"],
            links=[LinkFacts.from_dict(x) for x in data.get("links") or ()],
            redirects=[Redirect.from_dict(x) for x in data.get("redirects") or ()],
            error=data.get("error"),
        )


@dataclass(slots=True)
class ShimFacts:
    """The shim's management socket (`shim-monitor.sock`): reachable or why not, the agent
    URL it reports (`GET /agent-url`) and, only when asked for, headline figures parsed
    from `GET /metrics` (that call reaches into the guest)."""

    socket: str
    reachable: bool = False
    agent_url: str | None = None
    error: str | None = None
    metrics: dict[str, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShimFacts:
        return _from(cls, data)


@dataclass(slots=True)
class HostFacts:
    """The machine itself, for the console's header and `inspect`."""

    hostname: str = ""
    kernel: str = ""
    uptime: float = 0.0
    cpus: int = 0
    load: list[float] = field(default_factory=list)
    mem_total: int = 0
    mem_available: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HostFacts:
        return _from(cls, data)
