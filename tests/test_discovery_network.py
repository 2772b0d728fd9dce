"""Network namespaces read with pyroute2, against real namespaces built by `tests.netlab`
(root): a veth pair, a tap, Kata's ingress qdiscs and mirred filters, traffic through the
whole path. The missing-namespace checks need no privileges and always run."""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.discovery.network import NETNS_RUN_DIR, PyrouteNetnsSource, netns_path
from kata_console.engine.inspect.facts import LINK_COUNTERS, NetnsFacts
from tests.conftest import REPO
from tests.netlab import NetLab, run

SENT, SIZE = 25, 200
SYS_SETRESUID = {"x86_64": 117, "aarch64": 147}.get(os.uname().machine)


@pytest.fixture
def source() -> Iterator[PyrouteNetnsSource]:
    src = PyrouteNetnsSource()
    try:
        yield src
    finally:
        src.close()


def links(facts: NetnsFacts) -> dict:
    assert facts.error is None, facts.error
    return {link.name: link for link in facts.links}


def netns_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "kc-netns"]


# ---------------------------------------------------------------------- no privileges


def test_a_missing_namespace_path_is_reported_and_nothing_is_created(
    tmp_path: Path, source: PyrouteNetnsSource
) -> None:
    path = tmp_path / "netns" / "cni-0b5d"
    facts = source.inspect(str(path))
    assert facts.error == f"missing: {path}"
    assert (facts.netns, facts.links, facts.redirects) == (str(path), [], [])
    assert not (tmp_path / "netns").exists()
    assert source.held() == [] and source.opens == 0


def test_a_missing_namespace_name_is_looked_up_in_var_run_netns_and_not_created(
    source: PyrouteNetnsSource,
) -> None:
    name = f"kcn-absent-{secrets.token_hex(4)}"
    facts = source.inspect(name)
    assert facts.error == f"missing: {NETNS_RUN_DIR}/{name}"
    assert not os.path.lexists(f"{NETNS_RUN_DIR}/{name}")


def test_a_file_that_is_no_namespace_and_an_empty_id_are_statuses(
    tmp_path: Path, source: PyrouteNetnsSource
) -> None:
    plain = tmp_path / "persist.json"
    plain.write_text("{}")
    assert source.inspect(str(plain)).error == f"not a network namespace: {plain}"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it for reading would block: it is refused unopened
    assert source.inspect(str(fifo)).error == f"not a network namespace: {fifo}"
    assert source.inspect(str(tmp_path)).error == f"not a network namespace: {tmp_path}"
    assert source.inspect("").error == "no network namespace given"
    # what a Go string may hold and a path never can: an error, not an exception
    assert source.inspect("/var/run/netns/a\ud800").error == "not a path: it cannot be encoded"
    assert source.inspect(f"{tmp_path}/a\0b").error == "not a path: it contains a NUL byte"


def test_names_and_paths_as_kata_persists_them() -> None:
    assert netns_path("cni-1") == "/var/run/netns/cni-1"
    assert netns_path("/var/run/netns/cni-1") == "/var/run/netns/cni-1"
    assert netns_path("/proc/42/ns/net") == "/proc/42/ns/net"


# ---------------------------------------------------------------------- real namespaces


def test_links_and_counters_rise_with_traffic_through_the_tcfilter_path(
    netlab: NetLab, source: PyrouteNetnsSource
) -> None:
    before = links(source.inspect(netlab.sandbox))
    assert netlab.udp_echo(SENT, SIZE) == SENT  # every datagram crossed both redirects
    after = links(source.inspect(netlab.sandbox))
    cni = links(source.inspect(netlab.cni))

    assert set(after) == {"lo", "eth0", "tap0_kata"}
    eth0, tap = after["eth0"], after["tap0_kata"]
    assert (eth0.kind, eth0.tun_type, tap.kind, tap.tun_type) == ("veth", "", "tun", "tap")
    assert tap.mtu == eth0.mtu and eth0.operstate == tap.operstate == "UP"
    # the veth's peer is veth0 in the CNI namespace, and the other way round
    assert eth0.peer_index == cni["veth0"].index and eth0.peer_netnsid is not None
    assert cni["veth0"].peer_index == eth0.index and cni["veth0"].mac != eth0.mac

    rose = {
        name: {k: after[name].stats[k] - before[name].stats[k] for k in LINK_COUNTERS}
        for name in ("eth0", "tap0_kata")
    }
    for name in ("eth0", "tap0_kata"):
        for way in ("rx", "tx"):
            assert rose[name][f"{way}_packets"] >= SENT, (name, way, rose[name])
            assert rose[name][f"{way}_bytes"] >= SENT * SIZE, (name, way, rose[name])
        assert rose[name]["rx_errors"] == rose[name]["tx_errors"] == 0
    assert cni["veth0"].stats["tx_packets"] >= SENT and cni["veth0"].stats["rx_packets"] >= SENT

    # iproute2's own view of the same namespace, read after ours
    shown = {
        x["ifname"]: x for x in json.loads(run("ip", "-n", netlab.sandbox, "-j", "-s", "link"))
    }
    for name, link in after.items():
        assert (link.index, link.mac, link.mtu) == (
            shown[name]["ifindex"],
            shown[name]["address"],
            shown[name]["mtu"],
        )
        assert shown[name]["stats64"]["tx"]["packets"] >= link.stats["tx_packets"]


def test_both_mirred_redirects_of_kata_are_found_with_their_traffic(
    netlab: NetLab, source: PyrouteNetnsSource
) -> None:
    assert netlab.udp_echo(SENT) == SENT
    facts = source.inspect(netlab.sandbox_path)
    assert facts.error is None
    pairs = sorted((r.src, r.dst, r.action) for r in facts.redirects)
    assert pairs == [
        ("eth0", "tap0_kata", "mirred egress redirect"),
        ("tap0_kata", "eth0", "mirred egress redirect"),
    ]
    for r in facts.redirects:
        assert r.packets is not None and r.packets >= SENT, r
        assert r.bytes is not None and r.bytes >= SENT * 64, r
        assert r.overlimits == 0, r  # the tap has a reader: nothing failed to go out
    assert NetnsFacts.from_dict(json.loads(json.dumps(facts.to_dict()))) == facts


def test_one_handle_per_namespace_is_reused_and_opening_it_never_forks(
    netlab: NetLab, source: PyrouteNetnsSource
) -> None:
    forks: list[int] = []
    os.register_at_fork(before=lambda: forks.append(1))
    for _ in range(3):
        assert links(source.inspect(netlab.sandbox))
    assert links(source.inspect(netlab.cni))
    assert source.opens == 2 and source.handles() == 2 and len(forks) == 0
    by_name = [f"{NETNS_RUN_DIR}/{netlab.cni}", f"{NETNS_RUN_DIR}/{netlab.sandbox}"]
    assert source.held() == by_name
    # the same namespace by another path (/run/netns, not /var/run/netns) shares it
    assert source.inspect(netlab.sandbox_path).error is None
    assert source.opens == 2 and source.handles() == 2
    assert source.held() == sorted([*by_name, netlab.sandbox_path])

    # the counter does see forks: pyroute2's own way into a namespace forks once
    from pyroute2 import IPRoute

    with IPRoute(netns=netlab.sandbox, flags=0) as ipr:
        assert {x.get("IFLA_IFNAME") for x in ipr.get_links()} == {"lo", "eth0", "tap0_kata"}
    assert len(forks) >= 1


async def test_the_console_path_to_thread_from_a_running_loop_shares_one_handle(
    netlab: NetLab, source: PyrouteNetnsSource
) -> None:
    asyncio.get_running_loop()  # we are on a running event loop, as the console is
    results = await asyncio.gather(
        *(asyncio.to_thread(source.inspect, netlab.sandbox) for _ in range(6))
    )
    for facts in results:
        assert set(links(facts)) == {"lo", "eth0", "tap0_kata"}
        assert len(facts.redirects) == 2
    assert source.opens == 1 and len(netns_threads()) == 1
    # on the loop's own thread it still answers (it blocks the loop meanwhile)
    assert source.inspect(netlab.sandbox).error is None and source.opens == 1


def test_close_releases_the_handles_and_the_thread_and_a_later_inspect_starts_over(
    netlab: NetLab,
) -> None:
    src = PyrouteNetnsSource()
    assert src.inspect(netlab.sandbox).error is None
    assert netns_threads() and src.handles() == 1
    src.close()
    assert src.held() == [] and src.handles() == 0 and not netns_threads()
    assert src.inspect(netlab.sandbox).error is None and src.opens == 2
    src.close()
    src.close()  # twice is fine


def test_a_read_that_times_out_is_a_status_and_the_next_starts_clean(
    netlab: NetLab, source: PyrouteNetnsSource
) -> None:
    assert source.inspect(netlab.sandbox).error is None
    source.timeout = 1e-9  # no read answers that fast
    facts = source.inspect(netlab.sandbox)
    assert facts.error == f"no answer within 1e-09s: {NETNS_RUN_DIR}/{netlab.sandbox}"
    source.timeout = 5.0
    assert set(links(source.inspect(netlab.sandbox))) == {"lo", "eth0", "tap0_kata"}
    assert source.opens == 2 and source.handles() == 1  # the cut-short handle was closed


def test_a_proc_pid_namespace_is_read_then_reported_gone_when_the_process_exits(
    netlab: NetLab, source: PyrouteNetnsSource
) -> None:
    proc = subprocess.Popen(["ip", "netns", "exec", netlab.sandbox, "sleep", "60"])
    try:
        path, want = f"/proc/{proc.pid}/ns/net", os.stat(netlab.sandbox_path).st_ino
        deadline = time.monotonic() + 5
        while os.stat(path).st_ino != want and time.monotonic() < deadline:
            time.sleep(0.01)
        assert set(links(source.inspect(path))) == {"lo", "eth0", "tap0_kata"}
        assert source.held() == [path]
    finally:
        proc.kill()
        proc.wait()
    assert source.inspect(path).error == f"gone: {path} (removed since it was last read)"
    assert source.held() == []
    assert source.inspect(path).error == f"missing: {path}"


def test_a_deleted_namespace_is_dropped_and_a_recreated_one_gets_a_new_handle(
    netlab: NetLab, source: PyrouteNetnsSource
) -> None:
    name = f"{netlab.sandbox[:-4]}-tmp"
    netlab.add_netns(name)
    path = f"{NETNS_RUN_DIR}/{name}"
    assert set(links(source.inspect(name))) == {"lo"} and source.opens == 1
    run("ip", "netns", "del", name)
    assert source.inspect(name).error == f"gone: {path} (removed since it was last read)"
    assert source.held() == [] and not os.path.lexists(path)
    run("ip", "netns", "add", name)
    assert source.inspect(name).error is None and source.opens == 2
    run("ip", "netns", "del", name)
    run("ip", "netns", "add", name)  # replaced between two reads: not the same namespace
    assert source.inspect(name).error is None and source.opens == 3


@pytest.mark.skipif(SYS_SETRESUID is None, reason="setresuid syscall number unknown here")
def test_an_unprivileged_reader_gets_permission_denied(netlab: NetLab) -> None:
    """Credentials are per thread on Linux: a thread that drops to `nobody` with the raw
    syscall (glibc's wrapper would change every thread) starts the source's loop thread,
    which inherits them; the thread and its credentials end with the test."""
    libc = ctypes.CDLL(None, use_errno=True)
    out: dict[str, object] = {}

    def as_nobody() -> None:
        if libc.syscall(SYS_SETRESUID, 65534, 65534, 65534) != 0:
            out["error"] = os.strerror(ctypes.get_errno())
            return
        src = PyrouteNetnsSource()
        try:
            out["facts"] = src.inspect(netlab.sandbox_path)
        finally:
            src.close()

    thread = threading.Thread(target=as_nobody)
    thread.start()
    thread.join()
    assert "error" not in out, out
    facts = out["facts"]
    assert isinstance(facts, NetnsFacts)
    assert facts.error == f"permission denied: {netlab.sandbox_path}"
    assert os.geteuid() == 0  # the rest of the process kept its credentials


GRPC_PROBE = """
import asyncio, sys
from grpc import aio
mode, netns, sock = sys.argv[1:]

async def main():
    server = aio.server()
    server.add_insecure_port("unix:" + sock)
    await server.start()
    channel = aio.insecure_channel("unix:" + sock)
    call = channel.unary_unary("/grpc.AgentService/Check")
    busy = True

    async def calls():
        while busy:
            try:
                await call(b"", timeout=1)
            except aio.AioRpcError:
                pass

    task = asyncio.create_task(calls())
    await asyncio.sleep(0.2)
    for _ in range(3):
        if mode == "ours":
            from backends.discovery.network import PyrouteNetnsSource
            src = PyrouteNetnsSource()
            facts = await asyncio.to_thread(src.inspect, netns)
            assert facts.error is None, facts.error
            src.close()
        else:
            from pyroute2 import AsyncIPRoute
            ipr = AsyncIPRoute(netns=netns, flags=0)
            await ipr.setup_endpoint()
            [x async for x in await ipr.link("dump")]
            ipr.close()
        await asyncio.sleep(0.02)
    busy = False
    await task
    await channel.close()
    await server.stop(None)

asyncio.run(main())
print("ok")
"""


def test_no_grpc_fork_warning_while_grpc_runs_in_the_process(
    netlab: NetLab, tmp_path: Path
) -> None:
    """gRPC's fork handlers log a line on every fork while its threads run; fork support
    is left at gRPC's default here (no GRPC_* variables) so only our not forking keeps
    stderr clean. pyroute2's own netns open, the control, does print it, and its forked
    child sometimes dies (SIGSEGV) when forked under gRPC's running threads."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRPC_")}
    env["PYTHONPATH"] = str(REPO)

    def probe(mode: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-c", GRPC_PROBE, mode, netlab.sandbox, str(tmp_path / "g.sock")]
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)

    ours = probe("ours")
    assert ours.stdout.strip() == "ok", ours.stderr
    assert "fork" not in ours.stderr, ours.stderr
    # the control: gRPC warns only when a fork meets its threads running, which a loaded
    # machine can miss once; three tries (its forked child may even crash: seen SIGSEGV)
    controls = [probe("pyroute2").stderr for _ in range(3)]
    assert any("skipping fork() handlers" in err for err in controls), controls
