"""`kata-console doctor [--json] [--vc-root DIR] [--snapshot FILE] [--severity LEVEL]`: what
is wrong on this Kata node, each finding with the evidence read, Kata's own error text and
the fix. The same inspection as `inspect`, then the engine's rules over it; works on a
recording, so a bug report can be diagnosed elsewhere.

Exit 0 when nothing at or above LEVEL was found, 1 when something was, 2 for bad input.
"""

from __future__ import annotations

import argparse
from typing import Any

from kata_console.cli import EXIT_FAILED, EXIT_OK, UsageError, print_json
from kata_console.cli.fileargs import path_arg
from kata_console.cli.inspect import _open, _roots, collect
from kata_console.engine.doctor import Finding, checked, findings_for, severity_counts
from kata_console.engine.doctor.finding import INFO, SEVERITIES, at_least
from kata_console.inspection import host_extras


def _severity(text: str) -> str:
    if text not in SEVERITIES:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(SEVERITIES)}")
    return text


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="findings on this Kata node: evidence, Kata's error text and the fix for each",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--snapshot", metavar="FILE", type=path_arg, help="diagnose a recording made by record"
    )
    p.add_argument(
        "--severity",
        metavar="LEVEL",
        type=_severity,
        default=INFO,
        help=f"report findings at or above LEVEL ({', '.join(SEVERITIES)}; default {INFO}); "
        "the exit code is 1 only when one is found",
    )
    _roots(p)
    p.set_defaults(run=run)


def diagnose(args: argparse.Namespace) -> tuple[list[Finding], dict[str, Any]]:
    """Inspect (live or recorded), gather doctor's extra facts, run the rules."""
    insp, vc_root, kata_root = _open(args)
    try:
        report = collect(insp, vc_root, kata_root, False)
        extras = host_extras(insp, report)
    finally:
        insp.close()
    return findings_for(report, extras), checked(report, extras)


def run(args: argparse.Namespace) -> int:
    findings, counts = diagnose(args)
    shown = [f for f in findings if at_least(f.severity, args.severity)]
    if args.json:
        counts = {**counts, "findings": severity_counts(shown)}
        print_json({"findings": [f.to_dict() for f in shown], "checked": counts}, indent=2)
    else:
        from kata_console.cli.doctorview import print_findings

        print_findings(shown, counts)
    return EXIT_FAILED if shown else EXIT_OK


__all__ = ["UsageError", "diagnose", "register", "run"]
