"""`kata-console agent --listen unix:///path/agent.sock [--fault RPC=...]`.

Runs the simulated guest agent in the foreground until SIGTERM or SIGINT, then stops
cleanly (socket removed, exit 0). One agent per sandbox, like one per VM: the engine's
`spawn` mode starts this command in the sandbox's run directory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from kata_console.cli import EXIT_FAILED, EXIT_OK, UsageError


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "agent",
        help="run a simulated Kata guest agent (gRPC) on a unix socket",
        description=(
            "Run a simulated Kata guest agent serving grpc.AgentService and grpc.Health on a "
            "unix socket, for stepping through lifecycles and reproducing agent failures."
        ),
    )
    parser.add_argument(
        "--listen",
        required=True,
        metavar="unix:///PATH",
        help="socket address; its directory is created 0700 and must not be group/world-writable",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="RPC=ACTION",
        help="RPC=error:CODE[:MSG], RPC=delay:MS or RPC=crash (repeatable)",
    )
    parser.add_argument(
        "--tick-ms",
        type=int,
        default=200,
        metavar="MS",
        help="interval between the simulated workload's stdout lines (default 200)",
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop when the process that started the agent goes away (used by spawn)",
    )
    parser.set_defaults(run=run)


async def _watch_parent(parent: int, stop: asyncio.Event) -> None:
    """A spawned agent must not outlive its owner (a crashed console or test run)."""
    while not stop.is_set():
        if os.getppid() != parent:
            stop.set()
            return
        await asyncio.sleep(0.5)


async def _main(args: argparse.Namespace) -> None:
    from backends.agent.server import serve

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watcher = None
    if args.exit_with_parent:
        watcher = asyncio.create_task(_watch_parent(os.getppid(), stop))

    def ready(server: object) -> None:
        print(f"kata-console agent: listening on {args.listen}", flush=True)

    try:
        await serve(
            args.listen, args.fault, tick_seconds=args.tick_ms / 1000, stop=stop, on_ready=ready
        )
    finally:
        if watcher is not None:
            watcher.cancel()


def run(args: argparse.Namespace) -> int:
    # Our own one-line errors say what failed; grpc's C-core would add its own lines.
    os.environ.setdefault("GRPC_VERBOSITY", "NONE")
    import backends.agent  # noqa: F401  (sets GRPC_* before grpc is imported)
    from backends.agent.faults import FaultSpecError, parse_fault
    from backends.agent.listen import BadListenPath
    from backends.agent.server import ListenError, socket_path

    if args.tick_ms <= 0:
        raise UsageError("--tick-ms must be positive")
    try:
        socket_path(args.listen)
        for spec in args.fault:
            parse_fault(spec)
    except (ListenError, FaultSpecError) as exc:
        raise UsageError(str(exc)) from None
    try:
        asyncio.run(_main(args))
    except BadListenPath as exc:  # an unsafe or unusable socket directory: bad input
        raise UsageError(str(exc)) from None
    except ListenError as exc:
        print(f"kata-console agent: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
