"""`kata-console chains`: every overlay and erofs mount, resolved down to its backing file."""

from __future__ import annotations

import argparse
import sys

from kata_console.cli import EXIT_FAILED, EXIT_OK, UsageError, print_json
from kata_console.cli.hostargs import absolute_paths, add_host_arguments, open_host
from kata_console.engine.mounts.chainmodel import BAD_STATUSES, ChainReport
from kata_console.engine.mounts.chains import resolve_chains


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "chains",
        help="resolve overlay -> lowerdir -> erofs -> loop/file -> backing file",
        description="Resolve every overlay and erofs mount of a mount table down to the file "
        "each EROFS layer is read from, with Kata's verdict per layer.",
    )
    p.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="only chains through these paths (relative ones are taken from the working directory)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a layer is broken or Kata would refuse a rootfs",
    )
    add_host_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    ctx = open_host(args)
    paths = absolute_paths(args.paths)
    for given, path in zip(args.paths, paths, strict=True):
        if not _known(ctx, path):
            raise UsageError(f"{given}: no such path on the inspected host")
    report = resolve_chains(ctx.table, ctx.host, paths or None, check_st_dev=ctx.same_namespace)
    if args.mountinfo:
        report.warnings.append(
            f"mount table read from {args.mountinfo}: devices and files were checked on this host"
        )
    try:
        ctx.finish()
    except OSError as exc:
        print(f"kata-console chains: error: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        print_json(report.to_dict())
    else:
        from kata_console.cli.chainview import print_report

        print_report(report)
    return EXIT_FAILED if args.strict and _broken(report) else EXIT_OK


def _known(ctx, path: str) -> bool:  # type: ignore[no-untyped-def]
    if ctx.table.at(path) is not None:
        return True
    try:
        ctx.host.lstat(path)
        return True
    except OSError:
        return False


def _broken(report: ChainReport) -> bool:
    return any(
        c.kata_verdict or any(la.status in BAD_STATUSES for la in c.layers) for c in report.chains
    ) or any(e.status in BAD_STATUSES for e in report.erofs_mounts)
