"""`kata-console rootfs`: what Kata's createErofsDevices would do with a rootfs, on this host."""

from __future__ import annotations

import argparse
import sys

from kata_console.cli import EXIT_FAILED, EXIT_OK, UsageError, print_json
from kata_console.cli.hostargs import add_host_arguments, open_host
from kata_console.engine.mounts.rootfs import (
    RootFs,
    RootfsError,
    create_erofs_devices,
    is_erofs_rootfs,
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "rootfs",
        help="run Kata's createErofsDevices against the live mount table",
        description="Decide, exactly as the Kata Go runtime would, whether a rootfs is an EROFS "
        "rootfs and which read-only block devices its layers become (or the error Kata gives).",
    )
    p.add_argument("--type", required=True, help="rootfs type as containerd passes it (overlay)")
    p.add_argument("--source", default="overlay", help="rootfs source (default: overlay)")
    p.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="OPT",
        help="a mount option, e.g. lowerdir=/a:/b (repeatable)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_host_arguments(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if not args.type.strip():
        raise UsageError("--type must not be empty")
    ctx = open_host(args)
    rootfs = RootFs(source=args.source, type=args.type, options=list(args.option))
    erofs = is_erofs_rootfs(rootfs, ctx.host)
    error = None
    devices = []
    try:
        devices = create_erofs_devices(rootfs, ctx.host, mountinfo=ctx.table)
    except RootfsError as exc:
        error = str(exc)
    try:
        ctx.finish()
    except OSError as exc:
        print(f"kata-console rootfs: error: {exc.strerror}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        out = {"erofs": erofs, "devices": [d.to_dict() for d in devices], "error": error}
        print_json(out)
    else:
        _print_human(erofs, devices, error)
    return EXIT_FAILED if error else EXIT_OK


def _print_human(erofs: bool, devices: list, error: str | None) -> None:  # type: ignore[type-arg]
    if not erofs:
        print("not an EROFS rootfs: Kata shares it with the guest as a directory (no devices)")
    for i, d in enumerate(devices):
        kind = "file" if d.major == -1 else f"block {d.major}:{d.minor}"
        mode = "ro" if d.read_only else "rw"
        print(f"device {i}: {d.host_path} ({kind}, {mode}) -> guest block device")
    if error:
        print(f"kata-console rootfs: {error}", file=sys.stderr)
