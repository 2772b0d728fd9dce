"""Host inspection facts recorded into a host snapshot, and replayed from one.

A snapshot (`backends.host.snapshot`) logs every question the resolver asked; `inspect` also
asks for processes, network namespaces, shim sockets and host facts. Those answers go under
the snapshot's `inspect` key, so one file is an operator's whole bug report:

    "inspect": {"host": {...HostFacts},
                "processes": [{...ProcessFacts}, ...],
                "netns": {"<netns>": {...NetnsFacts}},
                "shim": {"<socket>": {"agent_url": {...ShimFacts}, "metrics": {...}}}}

Replaying answers exactly what was recorded; a question the recording never heard gets a
status saying so (never a fact that was not seen). Recordings without `inspect` (older
ones, or made by `chains --record`) still load: they just have no processes or namespaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kata_console.engine.inspect.facts import HostFacts, NetnsFacts, ProcessFacts, ShimFacts
from kata_console.engine.ports import HostInfoSource, NetnsSource, ProcessSource, ShimSource

NOT_RECORDED = "not in the recording"


class SnapshotInspect:
    """`ProcessSource`, `NetnsSource`, `ShimSource` and `HostInfoSource` from a recording."""

    def __init__(self, data: dict[str, Any] | None) -> None:
        data = data or {}
        self._host = data.get("host")
        self._processes = list(data.get("processes") or ())
        self._netns: dict[str, Any] = dict(data.get("netns") or {})
        self._shim: dict[str, Any] = dict(data.get("shim") or {})

    def scan(self) -> Sequence[ProcessFacts]:
        return [ProcessFacts.from_dict(p) for p in self._processes]

    def inspect(self, netns: str) -> NetnsFacts:
        found = self._netns.get(netns)
        return NetnsFacts.from_dict(found) if found else NetnsFacts(netns, error=NOT_RECORDED)

    def close(self) -> None:
        return None

    def _shim_call(self, socket: str, call: str) -> ShimFacts:
        found = (self._shim.get(socket) or {}).get(call)
        return ShimFacts.from_dict(found) if found else ShimFacts(socket, error=NOT_RECORDED)

    def agent_url(self, socket: str) -> ShimFacts:
        return self._shim_call(socket, "agent_url")

    def metrics(self, socket: str) -> ShimFacts:
        return self._shim_call(socket, "metrics")

    def host_facts(self) -> HostFacts:
        return HostFacts.from_dict(self._host) if self._host else HostFacts()


class RecordingInspect:
    """Wraps the live sources and keeps every answer for the snapshot's `inspect` key."""

    def __init__(
        self,
        processes: ProcessSource,
        network: NetnsSource,
        shim: ShimSource,
        info: HostInfoSource,
    ) -> None:
        self._p, self._n, self._s, self._i = processes, network, shim, info
        self._data: dict[str, Any] = {"processes": [], "netns": {}, "shim": {}, "host": None}

    def scan(self) -> Sequence[ProcessFacts]:
        found = list(self._p.scan())
        self._data["processes"] = [p.to_dict() for p in found]
        return found

    def inspect(self, netns: str) -> NetnsFacts:
        facts = self._n.inspect(netns)
        # the first answer is inspect's; doctor's second read is kept in its own facts
        self._data["netns"].setdefault(netns, facts.to_dict())
        return facts  # type: ignore[no-any-return]

    def close(self) -> None:
        self._n.close()

    def _keep(self, socket: str, call: str, facts: ShimFacts) -> ShimFacts:
        self._data["shim"].setdefault(socket, {})[call] = facts.to_dict()
        return facts

    def agent_url(self, socket: str) -> ShimFacts:
        return self._keep(socket, "agent_url", self._s.agent_url(socket))

    def metrics(self, socket: str) -> ShimFacts:
        return self._keep(socket, "metrics", self._s.metrics(socket))

    def host_facts(self) -> HostFacts:
        facts = self._i.host_facts()
        self._data["host"] = facts.to_dict()
        return facts  # type: ignore[no-any-return]

    def data(self) -> dict[str, Any]:
        return self._data
