"""`kata-console play PLAN.json [--json] [--events] [--state-dir DIR] [--keep]`: replay a plan.

Every op runs, even after one failed, and each reports its result and the states it left;
then the device table shows what is still plugged and referenced, with each device's guest
address. Without `--state-dir` the persist files go to a private temporary directory that
is removed afterwards (never the live `/run/vc/sbs`, which belongs to the Kata shim).
A QEMU VM the plan left running is stopped at the end unless `--keep`; the simulated agent
always stops with `play` (nothing drives the guest once it has gone).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from kata_console.cli import EXIT_FAILED, EXIT_OK, UsageError, print_json
from kata_console.cli.fileargs import path_arg
from kata_console.cli.playvm import print_vm, stop_vm, vm_summary
from kata_console.engine.errors import EngineError
from kata_console.engine.ids import RandomIds, SeededIds
from kata_console.engine.lifecycle.events import LOG, STEP_BEGIN, Event, EventBus
from kata_console.engine.lifecycle.plan import Plan, PlanError, load_plan
from kata_console.engine.lifecycle.runner import OpResult, run_op
from kata_console.engine.lifecycle.sandbox import Sandbox, SandboxConfig
from kata_console.engine.persist.store import PersistStore
from kata_console.engine.ports import AgentError
from kata_console.wiring import (
    WiringError,
    make_agent,
    make_host_view,
    make_hypervisor,
    resolve_hypervisor,
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "play",
        help="replay a lifecycle plan against the engine",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("plan", type=path_arg, metavar="PLAN.json", help="the plan to replay")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--events",
        action="store_true",
        help='also show the engine\'s steps (JSON: an "events" list)',
    )
    p.add_argument(
        "--state-dir", type=path_arg, metavar="DIR", help="keep persist.json files under DIR"
    )
    p.add_argument(
        "--keep",
        action="store_true",
        help="leave a QEMU VM the plan left running (needs --state-dir; prints its pid and "
        "QMP socket)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    # SIGTERM/SIGHUP unwind like Ctrl-C: agents stopped, the temporary state dir removed.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    try:
        plan = load_plan(args.plan)
    except PlanError as exc:
        raise UsageError(str(exc)) from None
    if args.keep and args.state_dir is None:
        raise UsageError("--keep needs --state-dir: a temporary one is removed at exit")
    if args.state_dir is not None:
        state_dir = Path(args.state_dir)
        try:  # Path.exists() raises for some errors (a name too long), not only ENOENT
            if state_dir.is_symlink() and not state_dir.exists():
                raise UsageError(f"--state-dir {state_dir}: a dangling symbolic link")
            if state_dir.exists() and not state_dir.is_dir():
                raise UsageError(f"--state-dir {state_dir}: not a directory")
            state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--state-dir {state_dir}: {exc.strerror or exc}") from None
        return asyncio.run(_play(plan, state_dir, args))
    with tempfile.TemporaryDirectory(prefix="kata-console-play-") as tmp:
        return asyncio.run(_play(plan, Path(tmp), args))


async def _play(plan: Plan, state_dir: Path, args: argparse.Namespace) -> int:
    spec = plan.sandbox
    kind, note = resolve_hypervisor(spec.hypervisor)
    if note and not args.json:
        print(f"kata-console play: note: {note}", file=sys.stderr)
    run_dir = state_dir / ".vm" / spec.id  # like /run/vc/vm/<id>: never a sandbox id
    bus = EventBus()
    try:
        host = make_host_view(spec.host)
        hypervisor = make_hypervisor(
            kind,
            block_driver=spec.block_device_driver,
            run_dir=run_dir,
            bus=bus,
            recorded_host=spec.host != "live",
        )
        agent, close = await make_agent(
            spec.agent,
            run_dir,
            create_container_timeout=spec.create_container_timeout,
            dial_timeout=spec.dial_timeout,
            faults=spec.agent_faults,
        )
    except WiringError as exc:
        raise UsageError(str(exc)) from None
    except AgentError as exc:
        print(f"kata-console play: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        raise UsageError(f"--state-dir {state_dir}: {exc.strerror or exc}") from None
    events: list[Event] = []
    if args.events:
        bus.subscribe(events.append if args.json else _print_event)
    ids = SeededIds(spec.seed) if spec.seed is not None else RandomIds()
    config = SandboxConfig(
        spec.id,
        hypervisor_type=kind,
        block_device_driver=spec.block_device_driver,
        disable_block_device_use=spec.disable_block_device_use,
    )
    try:
        sandbox = Sandbox(
            config,
            agent=agent,
            hypervisor=hypervisor,
            host=host,
            store=PersistStore(state_dir),
            ids=ids,
            bus=bus,
        )
        results = [await run_op(sandbox, op) for op in plan.ops]
        rows = [r.to_dict() for r in sandbox.device_rows()]
        vm = await vm_summary(hypervisor, note, keep=args.keep)
    except EngineError as exc:
        raise UsageError(str(exc)) from None
    finally:
        if not args.keep:
            await stop_vm(hypervisor)
        await close()
    if args.json:
        out: dict[str, Any] = {
            "results": [r.to_dict() for r in results],
            "devices": rows,
            "hypervisor": vm,
        }
        if args.events:
            out["events"] = [e.to_dict() for e in events]
        print_json(out, indent=2)
    else:
        _print_human(results, rows)
        print_vm(vm)
    return EXIT_OK if all(r.ok for r in results) else EXIT_FAILED


def _print_event(e: Event) -> None:
    if e.kind == STEP_BEGIN:
        print(f"  > {e.text}")
    elif e.kind == "step.end" and e.error is not None:
        print(f"  ! {e.text}: {e.error}")
    elif e.kind == LOG and e.level in ("warning", "error"):
        print(f"  {e.level}: {e.text}")


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return lines


def _print_human(results: list[OpResult], devices: list[dict[str, Any]]) -> None:
    rows = [
        [
            str(i),
            r.op,
            r.id or "-",
            "ok" if r.ok else "FAILED",
            r.sandbox_state or '""',
            r.container_state if r.container_state is not None else "-",
            r.error or "",
        ]
        for i, r in enumerate(results)
    ]
    out = _table(["#", "OP", "ID", "RESULT", "SANDBOX", "CONTAINER", "ERROR"], rows)
    failed = sum(not r.ok for r in results)
    out.append(f"{len(results)} ops, {failed} failed")
    out.append("")
    if devices:
        out += _table(
            ["DEVICE", "KIND", "REF", "ATTACH", "INDEX", "ADDRESS", "RO", "HOST PATH"],
            [
                [
                    d["id"],
                    d["kind"],
                    str(d["refcount"]),
                    str(d["attach_count"]),
                    "-" if d["index"] is None else str(d["index"]),
                    d["address"] or "-",
                    "ro" if d["read_only"] else "rw",
                    d["host_path"],
                ]
                for d in devices
            ],
        )
    else:
        out.append("no devices")
    sys.stdout.write("\n".join(out) + "\n")
