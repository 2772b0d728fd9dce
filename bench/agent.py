"""Benchmark: what driving containers through the gRPC agent costs, against the floor.

Floor: an empty unary round trip (bytes in, bytes out, no protobuf, no servicer logic)
from this process to a minimal grpc.aio server in another process on a unix socket:
the least any agent RPC can cost here. Then the engine's create+start+stop of 500
containers through a spawned simulated agent via `AgentClient`, with the RPC sequence
the engine uses (CreateContainer; StartContainer; SignalProcess, WaitProcess,
RemoveContainer, RemoveStaleVirtiofsShareMounts), reported per container cycle as RPC
count, time and ratio to (RPC count x floor); target <= 1.5x. Then the same cycles 50
at a time, concurrently, against the sequential throughput. Figures only, no asserts.

    .venv/bin/python bench/agent.py [--containers 500] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import backends.agent  # noqa: F401  (sets GRPC_* before grpc is first imported)

# isort: split
import grpc

from backends.agent.client import AgentClient
from backends.agent.spawn import spawn_agent
from kata_console.engine.ports import CreateContainerRequest, CreateSandboxRequest, Storage

FLOOR_METHOD = "/bench.Floor/Empty"
RPCS_PER_CYCLE = 6


def _identity(data: bytes) -> bytes:
    return data


async def _floor_server(url: str) -> None:
    async def empty(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return b""

    handler = grpc.method_handlers_generic_handler(
        "bench.Floor",
        {"Empty": grpc.unary_unary_rpc_method_handler(empty, _identity, _identity)},
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(url)
    await server.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await server.stop(None)


async def measure_floor(base: Path, calls: int) -> list[float]:
    url = f"unix://{base}/floor.sock"
    proc = subprocess.Popen(
        [sys.executable, __file__, "--floor-server", url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        async with grpc.aio.insecure_channel(url) as channel:
            empty = channel.unary_unary(FLOOR_METHOD, _identity, _identity)
            for _ in range(200):
                await empty(b"", timeout=5)
            samples = []
            for _ in range(calls):
                t = time.perf_counter()
                await empty(b"", timeout=5)
                samples.append(time.perf_counter() - t)
            return samples
    finally:
        proc.terminate()
        proc.wait()


async def cycle(client: AgentClient, cid: str) -> float:
    """The engine's create + start + stop of one container: 6 RPCs."""
    t = time.perf_counter()
    await client.create_container(
        CreateContainerRequest(
            cid,
            cid,
            storages=[Storage("blk", "/dev/vda", "ext4", f"/run/kata-containers/{cid}/rootfs")],
            oci={"process": {"args": ["/pause"]}},
        )
    )
    await client.start_container(cid)
    await client.signal_process(cid, "", signal.SIGKILL)
    await client.wait_process(cid, cid)
    await client.remove_container(cid)
    await client.remove_stale_virtiofs_share_mounts()
    return time.perf_counter() - t


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


async def main(containers: int, concurrency: int) -> None:
    base = Path(tempfile.mkdtemp(prefix="kc-bench-"))
    try:
        floor_samples = await measure_floor(base, 2000)
        floor = statistics.mean(floor_samples)
        print(f"floor: empty unary round trip, unix socket, 2000 calls: mean {_ms(floor)}, "
              f"p50 {_ms(statistics.median(floor_samples))}, "
              f"p99 {_ms(sorted(floor_samples)[int(len(floor_samples) * 0.99)])}")  # fmt: skip

        agent = await spawn_agent(base / "run")
        client = agent.client()
        try:
            await client.create_sandbox(CreateSandboxRequest("bench"))
            for i in range(50):
                await cycle(client, f"warm-{i}")

            began = time.perf_counter()
            times = [await cycle(client, f"seq-{i}") for i in range(containers)]
            seq_wall = time.perf_counter() - began
            mean = statistics.mean(times)
            print(f"sequential: {containers} containers, {RPCS_PER_CYCLE} RPCs per cycle")
            print(f"  per cycle: mean {_ms(mean)}, p50 {_ms(statistics.median(times))}, "
                  f"p99 {_ms(sorted(times)[int(len(times) * 0.99)])}; "
                  f"per RPC {_ms(mean / RPCS_PER_CYCLE)}")  # fmt: skip
            ratio = mean / (RPCS_PER_CYCLE * floor)
            print(f"  ratio to {RPCS_PER_CYCLE} x floor: {ratio:.2f}x (target <= 1.5x)")
            seq_rate = containers / seq_wall
            print(f"  throughput: {seq_rate:.0f} containers/s")

            began = time.perf_counter()
            for batch in range(0, containers, concurrency):
                ids = [f"par-{i}" for i in range(batch, min(batch + concurrency, containers))]
                await asyncio.gather(*(cycle(client, cid) for cid in ids))
            par_wall = time.perf_counter() - began
            par_rate = containers / par_wall
            print(f"concurrent: {containers} containers, {concurrency} at a time: "
                  f"{par_rate:.0f} containers/s = {par_rate / seq_rate:.2f}x sequential")  # fmt: skip
            await client.destroy_sandbox()
        finally:
            await client.close()
            await agent.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--floor-server", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_server:
        asyncio.run(_floor_server(args.floor_server))
    else:
        asyncio.run(main(args.containers, args.concurrency))
