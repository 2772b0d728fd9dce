"""The shim's management socket: `HttpShimSource` against a real HTTP server on a real unix
socket (`tests.shimdouble.ShimDouble`, a test double of the shim, not Kata), and against
the ways a live shim fails: no socket, nothing listening, not a socket, a full accept
queue, no answer, a trickle, an error status, text that is not Prometheus."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.discovery.shim import (
    HttpShimSource,
    ReadOnlyViolation,
    shim_socket,
    shim_socket_candidates,
)
from backends.discovery.shimmetrics import FIGURE_KEYS, headline_figures
from kata_console.engine.ids import InvalidIdError
from kata_console.engine.inspect.facts import ShimFacts
from tests.shimdouble import (
    AGENT_FAMILIES,
    AGENT_URL,
    KATA_METRICS,
    SHIM_FAMILIES,
    Route,
    ShimDouble,
)

#: what the double's payload must give (values as the payload writes them)
EXPECTED = {
    "agent_rss_bytes": 17530880.0,
    "guest_mem_total_bytes": 2062548992.0,
    "guest_mem_available_bytes": 1835008000.0,
    "guest_mem_free_bytes": 1730150400.0,
    "guest_load1": 0.08,
    "hypervisor_threads": 7.0,
    "hypervisor_rss_bytes": 235560960.0,
    "hypervisor_fds": 124.0,
    "shim_threads": 14.0,
    "shim_rss_bytes": 47845376.0,
    "shim_fds": 42.0,
    "pod_overhead_cpu_percent": 0.8125,
    "pod_overhead_memory_bytes": 123731968.0,
    "agent_rpc_count": 22.0,
    "agent_rpc_mean_ms": (14.25 + 301.75) / 22,
}


@pytest.fixture
def sockdir() -> Iterator[Path]:
    """A private 0700 directory short enough for AF_UNIX's 108-byte paths."""
    path = Path(tempfile.mkdtemp(prefix="kc-shim-"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def source() -> Iterator[HttpShimSource]:
    src = HttpShimSource(timeout=0.5, metrics_timeout=0.5)
    try:
        yield src
    finally:
        src.close()


@pytest.fixture
def shim(sockdir: Path) -> Iterator[ShimDouble]:
    with ShimDouble(str(sockdir / "shim-monitor.sock")) as double:
        yield double


def assert_one_line(facts: ShimFacts) -> str:
    assert facts.error, facts
    assert facts.error.isprintable(), repr(facts.error)
    return facts.error


# --------------------------------------------------------------------------- answers


def test_agent_url_from_the_shim(shim: ShimDouble, source: HttpShimSource) -> None:
    facts = source.agent_url(shim.path)
    assert facts == ShimFacts(shim.path, reachable=True, agent_url=AGENT_URL)
    assert shim.requests == [("GET", "/agent-url")]


def test_agent_url_is_stripped(sockdir: Path, source: HttpShimSource) -> None:
    url = "hvsock:///run/vc/firecracker/0123abcd/root/kata.hvsock:1024"
    path = str(sockdir / "s.sock")
    with ShimDouble(path, routes={"/agent-url": Route(body=f"  {url}\n".encode())}):
        assert source.agent_url(path).agent_url == url


def test_metrics_headline_figures(shim: ShimDouble, source: HttpShimSource) -> None:
    facts = source.metrics(shim.path)
    assert facts.reachable and facts.error is None and facts.agent_url is None
    assert facts.metrics == pytest.approx(EXPECTED)
    assert set(EXPECTED) == set(FIGURE_KEYS)
    assert shim.requests == [("GET", "/metrics")]
    # the recording form: plain JSON, and back
    again = ShimFacts.from_dict(json.loads(json.dumps(facts.to_dict(), allow_nan=False)))
    assert again == facts


def test_missing_families_leave_their_keys_out() -> None:
    """An agent without GetMetrics: the shim writes only its own families. No guessed 0s."""
    figures = headline_figures(SHIM_FAMILIES)
    assert "agent_rss_bytes" not in figures
    assert not [k for k in figures if k.startswith("guest_")]
    assert figures["shim_threads"] == 14.0
    agent_only = headline_figures(AGENT_FAMILIES)
    assert set(agent_only) == {
        "agent_rss_bytes",
        "guest_mem_total_bytes",
        "guest_mem_available_bytes",
        "guest_mem_free_bytes",
        "guest_load1",
    }
    assert headline_figures("") == {}


def test_non_finite_values_are_left_out() -> None:
    text = KATA_METRICS.replace(
        "kata_shim_pod_overhead_cpu 0.8125", "kata_shim_pod_overhead_cpu NaN"
    )
    text = text.replace("kata_agent_total_rss 1.753088e+07", "kata_agent_total_rss +Inf")
    figures = headline_figures(text)
    assert "pod_overhead_cpu_percent" not in figures and "agent_rss_bytes" not in figures
    assert figures["shim_fds"] == 42.0


def test_histogram_without_observations_has_a_count_but_no_mean() -> None:
    name = "kata_shim_agent_rpc_durations_histogram_milliseconds"
    text = (
        f"# TYPE {name} histogram\n"
        f'{name}_bucket{{action="grpc.CheckRequest",le="+Inf"}} 0\n'
        f'{name}_sum{{action="grpc.CheckRequest"}} 0\n'
        f'{name}_count{{action="grpc.CheckRequest"}} 0\n'
    )
    assert headline_figures(text) == {"agent_rpc_count": 0.0}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html><body>oops</body></html>\n", "invalid metric name"),
        (b"kata_shim_threads fourteen\n", "could not convert string to float"),
        (b'kata_guest_meminfo{item="a",item="b"} 1\n', "Invalid labels"),
        (b"\x1b[31mred\x00\nkata_shim_threads x\n", "invalid metric name"),
    ],
)
def test_unparseable_metrics_are_an_error_with_the_parser_reason(
    sockdir: Path, source: HttpShimSource, body: bytes, reason: str
) -> None:
    path = str(sockdir / "s.sock")
    with ShimDouble(path, routes={"/metrics": Route(body=body)}):
        facts = source.metrics(path)
    assert facts.reachable and facts.metrics is None
    error = assert_one_line(facts)
    assert error.startswith("unparseable /metrics answer: ") and reason in error
    assert "\x1b" not in error and "\x00" not in error


def test_error_status_carries_the_shim_text(sockdir: Path, source: HttpShimSource) -> None:
    """Go's agentURL handler: `WriteHeader(500)` then `err.Error()`."""
    path = str(sockdir / "s.sock")
    text = b"sandbox 0123abcd is not running\nsecond line"
    routes = {"/agent-url": Route(500, text), "/metrics": Route(404, b"URL NOT FOUND")}
    with ShimDouble(path, routes=routes):
        url = source.agent_url(path)
        metrics = source.metrics(path)
    assert url == ShimFacts(
        path,
        reachable=True,
        error="shim answered 500 Internal Server Error: sandbox 0123abcd is not running second line",
    )
    assert metrics.reachable and metrics.metrics is None
    assert metrics.error == "shim answered 404 Not Found: URL NOT FOUND"


def test_empty_or_garbled_agent_url(sockdir: Path, source: HttpShimSource) -> None:
    """runtime-rs answers 200 and an empty body when it has no agent socket."""
    path = str(sockdir / "s.sock")
    with ShimDouble(path, routes={"/agent-url": Route(body=b"\n")}) as double:
        assert source.agent_url(path) == ShimFacts(
            path, reachable=True, error="shim reports no agent URL"
        )
        double.state.routes["/agent-url"] = Route(body=b"vsock://3:1024\n\x1b[2Jvsock://4:1024")
        facts = source.agent_url(path)
    assert facts.reachable and facts.agent_url is None
    assert assert_one_line(facts).startswith("shim sent an agent URL that is not one line")


def test_oversized_answer_is_refused(sockdir: Path) -> None:
    path = str(sockdir / "s.sock")
    with (
        ShimDouble(path, routes={"/agent-url": Route(body=b"v" * 5000)}),
        HttpShimSource() as src,
    ):
        facts = src.agent_url(path)
    assert facts.reachable and facts.agent_url is None
    assert facts.error == "shim's answer to /agent-url exceeds 4096 bytes"


# --------------------------------------------------------------------------- unreachable


def test_no_socket(sockdir: Path, source: HttpShimSource) -> None:
    path = str(sockdir / "sbs" / "gone" / "shim-monitor.sock")
    assert source.agent_url(path) == ShimFacts(
        path, reachable=False, error=f"shim unreachable: no socket at {path}"
    )
    assert source.metrics(path).error == f"shim unreachable: no socket at {path}"


def test_socket_with_no_listener(sockdir: Path, source: HttpShimSource) -> None:
    """A shim that died leaves its socket file behind: connect gets ECONNREFUSED."""
    path = str(sockdir / "s.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(path)  # bound, never listening
        facts = source.agent_url(path)
    assert facts == ShimFacts(
        path,
        reachable=False,
        error=f"shim unreachable: connection refused on {path} (nothing listening)",
    )


def test_not_a_socket(sockdir: Path, source: HttpShimSource) -> None:
    path = sockdir / "shim-monitor.sock"
    path.write_text("not a socket\n")
    facts = source.agent_url(str(path))
    assert facts.error == f"shim unreachable: {path} is not a socket"
    assert not facts.reachable


@pytest.mark.timeout(10)
def test_no_answer_is_bounded(sockdir: Path, source: HttpShimSource) -> None:
    """A shim that accepts, reads the request and never answers (its agent call hung)."""
    path = str(sockdir / "s.sock")
    with ShimDouble(path, hang=True) as double:
        start = time.monotonic()
        url = source.agent_url(path)
        metrics = source.metrics(path)
        elapsed = time.monotonic() - start
    assert elapsed < 2.5, elapsed
    for facts in (url, metrics):
        assert facts == ShimFacts(
            path, reachable=False, error="shim unreachable: no answer within 0.5 s"
        )
    assert double.requests == [("GET", "/agent-url"), ("GET", "/metrics")]


@pytest.mark.timeout(10)
def test_trickling_answer_is_bounded(sockdir: Path) -> None:
    """Headers at once, then one byte of body every 0.1 s: each read is quick, the whole
    answer would take seconds; the deadline cuts it at about the timeout."""
    path = str(sockdir / "s.sock")
    with ShimDouble(path, trickle=0.1), HttpShimSource(metrics_timeout=0.5) as src:
        start = time.monotonic()
        facts = src.metrics(path)
        elapsed = time.monotonic() - start
    assert elapsed < 1.5, elapsed
    assert facts == ShimFacts(
        path, reachable=False, error="shim unreachable: no complete answer within 0.5 s"
    )


@pytest.mark.timeout(10)
def test_full_accept_queue_fails_at_once(sockdir: Path, source: HttpShimSource) -> None:
    """A shim whose accept loop is stuck: once its queue is full, connect(2) on a unix
    socket with a timeout fails with EAGAIN instead of waiting."""
    path = str(sockdir / "s.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(0)
    fillers: list[socket.socket] = []
    try:
        while len(fillers) < 64:
            filler = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            filler.setblocking(False)
            fillers.append(filler)
            try:
                filler.connect(path)
            except BlockingIOError:
                break
        else:
            pytest.skip("the kernel kept accepting connections into a full queue")
        start = time.monotonic()
        facts = source.agent_url(path)
        assert time.monotonic() - start < 0.5
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
    assert facts == ShimFacts(
        path,
        reachable=False,
        error=f"shim unreachable: {path} is not accepting connections (its queue is full)",
    )


def test_shim_restart_recovers(sockdir: Path, source: HttpShimSource) -> None:
    """The kept-alive connection dies with the shim; the next call says so, and the one
    after the new shim is up dials afresh."""
    path = str(sockdir / "s.sock")
    double = ShimDouble(path).start()
    assert source.agent_url(path).reachable
    double.stop()
    down = source.agent_url(path)
    assert not down.reachable and down.error == f"shim unreachable: no socket at {path}"
    assert path not in source._clients  # the dead shim's client was let go
    double.start()
    try:
        assert source.agent_url(path).agent_url == AGENT_URL
    finally:
        double.stop()


# --------------------------------------------------------------------------- read-only


def test_only_get_ever_reaches_the_shim(shim: ShimDouble, source: HttpShimSource) -> None:
    """Structural: the only public calls are the two GETs (and close), and the transport
    under the client refuses other methods before anything is written to the socket."""
    public = {n for n in dir(HttpShimSource) if not n.startswith("_")}
    assert public == {"agent_url", "metrics", "close"}
    for _ in range(3):
        source.agent_url(shim.path)
        source.metrics(shim.path)
    seen = len(shim.requests)
    client = source._checkout(shim.path)
    for method, url in (
        ("PUT", "/iptables"),
        ("PUT", "/policy"),
        ("POST", "/direct-volume/resize"),
    ):
        with pytest.raises(ReadOnlyViolation, match=f"refusing {method} {url}"):
            client.request(method, url, content=b"x")
    assert len(shim.requests) == seen == 6
    assert shim.methods == {"GET"}
    assert {p for _, p in shim.requests} == {"/agent-url", "/metrics"}


# --------------------------------------------------------------------------- clients


def test_one_connection_per_socket_when_reused(sockdir: Path) -> None:
    path = str(sockdir / "s.sock")
    with ShimDouble(path) as double:
        with HttpShimSource() as reused:
            for _ in range(5):
                assert reused.agent_url(path).agent_url == AGENT_URL
        assert double.state.connections == 1
        assert double.wait_closed(), "close() left the connection open"
        with HttpShimSource(reuse=False) as fresh:
            for _ in range(5):
                assert fresh.agent_url(path).agent_url == AGENT_URL
            assert double.wait_closed(), "a fresh client's connection outlived its call"
        assert double.state.connections == 6


def test_least_recently_used_client_is_closed(sockdir: Path) -> None:
    paths = [str(sockdir / f"{i}.sock") for i in range(3)]
    doubles = [ShimDouble(p).start() for p in paths]
    try:
        with HttpShimSource(max_clients=2) as src:
            for p in paths:
                assert src.agent_url(p).reachable
            assert doubles[0].wait_closed()
            assert doubles[2].state.open_connections == 1
    finally:
        for d in doubles:
            d.stop()


def test_concurrent_calls_from_worker_threads(sockdir: Path) -> None:
    """How the console calls it: `asyncio.to_thread`, many sockets, one source."""
    paths = [str(sockdir / f"{i}.sock") for i in range(3)]
    doubles = [ShimDouble(p).start() for p in paths]

    async def main(src: HttpShimSource) -> list[ShimFacts]:
        calls = [asyncio.to_thread(src.agent_url, paths[i % 3]) for i in range(30)]
        calls += [asyncio.to_thread(src.metrics, p) for p in paths]
        return await asyncio.gather(*calls)

    try:
        with HttpShimSource() as src:
            results = asyncio.run(main(src))
    finally:
        for d in doubles:
            d.stop()
    assert [r.agent_url for r in results[:30]] == [AGENT_URL] * 30
    assert all(r.metrics == pytest.approx(EXPECTED) for r in results[30:])
    assert {m for d in doubles for m in d.methods} == {"GET"}


# --------------------------------------------------------------------------- paths


def test_socket_candidates_and_choice(tmp_path: Path) -> None:
    vc, kata = str(tmp_path / "vc"), str(tmp_path / "kata")
    sid = "0123abcd"
    go_path, rs_path = shim_socket_candidates(sid, vc_root=vc, kata_root=kata)
    assert go_path == f"{vc}/sbs/{sid}/shim-monitor.sock"
    assert rs_path == f"{kata}/{sid}/shim-monitor.sock"
    assert shim_socket_candidates(sid) == (
        f"/run/vc/sbs/{sid}/shim-monitor.sock",
        f"/run/kata/{sid}/shim-monitor.sock",
    )
    assert shim_socket(sid, vc, kata) == go_path  # neither: the Go path, to report
    os.makedirs(os.path.dirname(rs_path))
    Path(rs_path).touch()
    assert shim_socket(sid, vc, kata) == rs_path
    os.makedirs(os.path.dirname(go_path))
    Path(go_path).touch()
    assert shim_socket(sid, vc, kata) == go_path


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", ".", "x" * 256, "-dash", 42])
def test_invalid_sandbox_ids_never_become_paths(tmp_path: Path, bad: object) -> None:
    with pytest.raises(InvalidIdError):
        shim_socket_candidates(bad, vc_root=str(tmp_path), kata_root=str(tmp_path))  # type: ignore[arg-type]
    with pytest.raises(InvalidIdError):
        shim_socket(bad, vc_root=str(tmp_path), kata_root=str(tmp_path))  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
