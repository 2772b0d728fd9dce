"""A test double of a Kata shim's management server (`shim-monitor.sock`).

Not Kata: a small real HTTP/1.1 server on a real unix socket that answers what
`containerd-shim-kata-v2` answers there (`GET /agent-url`, `GET /metrics`) with canned
bodies, and records the method and path of every request it receives so that a test can
show the client never sent anything but GET. Failure modes a live shim has are switches:
an error status with a text body (Go's handlers write `500` and `err.Error()`), an answer
that never comes (`hang`), one that trickles (`trickle`).

Used by tests/test_discovery_shim.py and bench/discovery_shim.py.
"""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

AGENT_URL = "vsock://1796207745:1024"


def _histogram(name: str, action: str, counts: list[int], total: float) -> str:
    """One label set of a Go histogram, as expfmt writes it: cumulative buckets at
    ExponentialBuckets(1, 2, 10), then +Inf, sum and count."""
    bounds = [str(2**i) for i in range(10)] + ["+Inf"]
    lines = [
        f'{name}_bucket{{action="{action}",le="{le}"}} {n}'
        for le, n in zip(bounds, counts, strict=True)
    ]
    lines.append(f'{name}_sum{{action="{action}"}} {total}')
    lines.append(f'{name}_count{{action="{action}"}} {counts[-1]}')
    return "\n".join(lines)


_AGENT_RPC = "kata_shim_agent_rpc_durations_histogram_milliseconds"
_SHIM_RPC = "kata_shim_rpc_durations_histogram_milliseconds"

#: What the Go shim writes for `GET /metrics`: its own registry (go_*, process_*, the
#: kata_hypervisor_*, kata_shim_* and kata_virtiofsd_* families, sorted by name, floats in
#: Go's shortest %g), then the agent's GetMetrics answer (kata_agent_*, kata_guest_*).
#: Family names, help texts and labels are Kata's; the values are one plausible sandbox.
SHIM_FAMILIES = f"""\
# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 31
# HELP go_threads Number of OS threads created.
# TYPE go_threads gauge
go_threads 12
# HELP kata_hypervisor_fds Open FDs for hypervisor.
# TYPE kata_hypervisor_fds gauge
kata_hypervisor_fds 124
# HELP kata_hypervisor_netdev Net devices statistics.
# TYPE kata_hypervisor_netdev gauge
kata_hypervisor_netdev{{interface="eth0",item="recv_bytes"}} 1.048576e+06
kata_hypervisor_netdev{{interface="eth0",item="sent_bytes"}} 2.62144e+06
kata_hypervisor_netdev{{interface="tap0_kata",item="recv_bytes"}} 2.62144e+06
kata_hypervisor_netdev{{interface="tap0_kata",item="sent_bytes"}} 1.048576e+06
# HELP kata_hypervisor_proc_status Hypervisor process status.
# TYPE kata_hypervisor_proc_status gauge
kata_hypervisor_proc_status{{item="nonvoluntary_ctxt_switches"}} 212
kata_hypervisor_proc_status{{item="vmhwm"}} 2.4117248e+08
kata_hypervisor_proc_status{{item="vmrss"}} 2.3556096e+08
kata_hypervisor_proc_status{{item="vmsize"}} 2.868015104e+09
kata_hypervisor_proc_status{{item="voluntary_ctxt_switches"}} 4123
# HELP kata_hypervisor_threads Hypervisor process threads.
# TYPE kata_hypervisor_threads gauge
kata_hypervisor_threads 7
# HELP {_AGENT_RPC} RPC latency distributions.
# TYPE {_AGENT_RPC} histogram
{_histogram(_AGENT_RPC, "grpc.CheckRequest", [17, 19, 20, 20, 20, 20, 20, 20, 20, 20, 20], 14.25)}
{_histogram(_AGENT_RPC, "grpc.CreateContainerRequest", [0, 0, 0, 0, 0, 0, 0, 1, 2, 2, 2], 301.75)}
# HELP kata_shim_fds Kata containerd shim v2 open FDs.
# TYPE kata_shim_fds gauge
kata_shim_fds 42
# HELP kata_shim_pod_overhead_cpu Kata Pod overhead for CPU resources(percent).
# TYPE kata_shim_pod_overhead_cpu gauge
kata_shim_pod_overhead_cpu 0.8125
# HELP kata_shim_pod_overhead_memory_in_bytes Kata Pod overhead for memory resources(bytes).
# TYPE kata_shim_pod_overhead_memory_in_bytes gauge
kata_shim_pod_overhead_memory_in_bytes 1.23731968e+08
# HELP kata_shim_proc_status Kata containerd shim v2 process status.
# TYPE kata_shim_proc_status gauge
kata_shim_proc_status{{item="vmrss"}} 4.7845376e+07
kata_shim_proc_status{{item="vmsize"}} 1.367343104e+09
# HELP {_SHIM_RPC} RPC latency distributions.
# TYPE {_SHIM_RPC} histogram
{_histogram(_SHIM_RPC, "create", [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1], 402.5)}
# HELP kata_shim_threads Kata containerd shim v2 process threads.
# TYPE kata_shim_threads gauge
kata_shim_threads 14
# HELP kata_virtiofsd_threads Virtiofsd process threads.
# TYPE kata_virtiofsd_threads gauge
kata_virtiofsd_threads 3
# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 1.93
# HELP process_open_fds Number of open file descriptors.
# TYPE process_open_fds gauge
process_open_fds 42
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 4.7845376e+07
"""

AGENT_FAMILIES = """\
# HELP kata_agent_scrape_count Metrics scrape count
# TYPE kata_agent_scrape_count counter
kata_agent_scrape_count 5
# HELP kata_agent_threads Agent process threads
# TYPE kata_agent_threads gauge
kata_agent_threads 0
# HELP kata_agent_total_rss Agent process total RSS size
# TYPE kata_agent_total_rss gauge
kata_agent_total_rss 1.753088e+07
# HELP kata_agent_total_time Agent process total time
# TYPE kata_agent_total_time gauge
kata_agent_total_time 0.21
# HELP kata_guest_load Guest system load.
# TYPE kata_guest_load gauge
kata_guest_load{item="load1"} 0.08
kata_guest_load{item="load15"} 0.01
kata_guest_load{item="load5"} 0.03
# HELP kata_guest_meminfo Statistics about memory usage in the system.
# TYPE kata_guest_meminfo gauge
kata_guest_meminfo{item="cached"} 1.1829248e+08
kata_guest_meminfo{item="mem_available"} 1.835008e+09
kata_guest_meminfo{item="mem_free"} 1.7301504e+09
kata_guest_meminfo{item="mem_total"} 2.062548992e+09
# HELP kata_guest_netdev_stat Guest net devices statistics.
# TYPE kata_guest_netdev_stat gauge
kata_guest_netdev_stat{interface="eth0",item="recv_bytes"} 5123
kata_guest_netdev_stat{interface="eth0",item="sent_bytes"} 2041
# HELP kata_guest_tasks Guest system load.
# TYPE kata_guest_tasks gauge
kata_guest_tasks{item="cur"} 1
kata_guest_tasks{item="max"} 140
"""

KATA_METRICS = SHIM_FAMILIES + AGENT_FAMILIES


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


def default_routes() -> dict[str, Route]:
    return {
        "/agent-url": Route(body=AGENT_URL.encode()),
        "/metrics": Route(
            body=KATA_METRICS.encode(), content_type="text/plain; version=0.0.4; charset=utf-8"
        ),
    }


@dataclass
class _State:
    routes: dict[str, Route]
    hang: bool = False
    trickle: float | None = None
    requests: list[tuple[str, str]] = field(default_factory=list)
    connections: int = 0
    open_connections: int = 0
    sockets: set[socket.socket] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Go's net/http
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.state.lock:
            self.server.state.connections += 1
            self.server.state.open_connections += 1
            self.server.state.sockets.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.state.lock:
                self.server.state.open_connections -= 1
                self.server.state.sockets.discard(self.connection)

    def log_message(self, format: str, *args: object) -> None:
        """Silent (and the default one indexes the address, which is '' on a unix socket)."""

    def _serve(self) -> None:
        state = self.server.state
        with state.lock:
            state.requests.append((self.command, self.path))
        if state.hang:
            state.release.wait(30)
            self.close_connection = True
            return
        route = state.routes.get(self.path.split("?")[0], Route(404, b"404 page not found\n"))
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if state.trickle is None:
            self.wfile.write(route.body)
            return
        for i in range(len(route.body)):
            if state.release.wait(state.trickle):
                break
            self.wfile.write(route.body[i : i + 1])
            self.wfile.flush()
        self.close_connection = True

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = _serve


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False
    state: _State


class ShimDouble:
    """The double, listening on `path` (its directory should be 0700) from `start()` to
    `stop()`; `routes` maps a path to its answer (default: the two endpoints above)."""

    def __init__(
        self,
        path: str,
        routes: dict[str, Route] | None = None,
        hang: bool = False,
        trickle: float | None = None,
    ) -> None:
        self.path = path
        self.state = _State(routes=routes if routes is not None else default_routes())
        self.state.hang = hang
        self.state.trickle = trickle
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def requests(self) -> list[tuple[str, str]]:
        with self.state.lock:
            return list(self.state.requests)

    @property
    def methods(self) -> set[str]:
        return {method for method, _ in self.requests}

    def start(self) -> ShimDouble:
        self.state.release.clear()
        server = _Server(self.path, _Handler)
        server.state = self.state
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Like the shim exiting: the listener and every accepted connection go away."""
        self.state.release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self.state.lock:
            accepted = list(self.state.sockets)
        for conn in accepted:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(5)
        if os.path.exists(self.path):
            os.unlink(self.path)

    def wait_closed(self, timeout: float = 2.0) -> bool:
        """Whether every connection the double accepted has been closed (by the client)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.state.lock:
                if self.state.open_connections == 0:
                    return True
            time.sleep(0.01)
        return False

    def __enter__(self) -> ShimDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _exit(*_: object) -> None:
    raise SystemExit(0)


def main(argv: list[str]) -> int:
    """`python -m tests.shimdouble PATH`: serve the default routes on PATH until stdin
    closes or SIGTERM (the benchmark runs the double in its own process, so that its
    threads do not share the client's GIL)."""
    import signal
    import sys

    double = ShimDouble(argv[0]).start()
    signal.signal(signal.SIGTERM, _exit)
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        double.stop()
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
