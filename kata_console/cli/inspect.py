"""`kata-console inspect [--json] [--vc-root DIR] [--snapshot FILE] [--metrics]`: every Kata
sandbox on this host, from its state directory, processes, network namespace, shim socket,
mount chains and devices, in one report. `kata-console record --out FILE` saves what an
inspection reads as one recording that `inspect --snapshot FILE` replays (a bug report).

Read-only: files are read, processes and namespaces looked at, the shim asked with GET.
Exit 0 even when some sandboxes have errors (they are in the report); 2 when the state root
does not exist.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from kata_console.cli import EXIT_FAILED, EXIT_OK, UsageError, print_json
from kata_console.cli.fileargs import check_output_file, path_arg
from kata_console.engine.inspect.report import HostReport, inspect_host
from kata_console.engine.inspect.statedir import KATA_ROOT, VC_ROOT, StateRootMissing
from kata_console.inspection import Inspection, InspectionError, host_extras, open_inspection


def _roots(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--vc-root",
        metavar="DIR",
        type=path_arg,
        help=f"the Go runtime's state root holding sbs/ and vm/ (default {VC_ROOT})",
    )
    p.add_argument(
        "--kata-root",
        metavar="DIR",
        type=path_arg,
        help=f"runtime-rs's state root (default {KATA_ROOT})",
    )


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "inspect",
        help="every Kata sandbox here: state, processes, network, shim, chains, devices",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--snapshot", metavar="FILE", type=path_arg, help="inspect a recording made by record"
    )
    p.add_argument(
        "--metrics",
        action="store_true",
        help="also ask each shim for GET /metrics (the shim asks the guest agent)",
    )
    _roots(p)
    p.set_defaults(run=run)


def _open(args: argparse.Namespace, *, record: bool = False) -> tuple[Inspection, str, str]:
    try:
        insp = open_inspection(getattr(args, "snapshot", None), record=record)
    except InspectionError as exc:
        raise UsageError(str(exc)) from None
    vc_root, kata_root = insp.recorded_roots or (VC_ROOT, KATA_ROOT)
    return insp, args.vc_root or vc_root, args.kata_root or kata_root


def collect(insp: Inspection, vc_root: str, kata_root: str, metrics: bool) -> HostReport:
    try:
        return inspect_host(insp.ports, vc_root=vc_root, kata_root=kata_root, metrics=metrics)
    except StateRootMissing as exc:
        raise UsageError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    insp, vc_root, kata_root = _open(args)
    try:
        report = collect(insp, vc_root, kata_root, args.metrics)
    finally:
        insp.close()
    if args.json:
        print_json(report.to_dict(), indent=2)
    else:
        from kata_console.cli.inspectview import print_host_report

        print_host_report(report)
    return EXIT_OK


def register_record(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "record",
        help="save this host as one recording that inspect, chains and the console replay",
        description="Inspect this host and save every answer it gave (mount tables, sysfs, Kata "
        "state files, processes, namespaces, shim answers) as one file: a bug report that "
        "`inspect --snapshot FILE` and `--source snapshot:FILE` replay elsewhere.",
    )
    p.add_argument("--out", metavar="FILE", required=True, type=path_arg, help="where to save")
    p.add_argument("--metrics", action="store_true", help="also record each shim's metrics")
    _roots(p)
    p.set_defaults(run=run_record)


def run_record(args: argparse.Namespace) -> int:
    check_output_file(args.out, "--out")
    insp, vc_root, kata_root = _open(args, record=True)
    try:
        report = collect(insp, vc_root, kata_root, args.metrics)
        host_extras(insp, report)  # what doctor reads beyond inspect, for the recording too
        try:
            insp.save(args.out, vc_root, kata_root)
        except OSError as exc:
            reason = (exc.strerror or str(exc)).lower()
            print(f"kata-console record: cannot save {args.out}: {reason}", file=sys.stderr)
            return EXIT_FAILED
    finally:
        insp.close()
    sandboxes = len(report.sandboxes)
    print(f"recorded {sandboxes} sandbox(es) to {args.out}; replay: inspect --snapshot {args.out}")
    return EXIT_OK


def summary(report: HostReport) -> dict[str, Any]:
    """Counts for a one-line header (the console and the human output share it)."""
    return {
        "sandboxes": len(report.sandboxes),
        "with_errors": sum(1 for s in report.sandboxes if s.errors),
        "processes": sum(len(s.processes) for s in report.sandboxes),
    }
