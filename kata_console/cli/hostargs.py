"""Options shared by commands that inspect a host: which mount table, which host view.

`--mountinfo FILE` (mountinfo or /proc/mounts format, read as bytes), `--pid PID` (that
process's mount namespace), `--snapshot FILE` (a recorded host instead of the live kernel;
it carries its own mount table, so it is refused together with `--mountinfo`: that would
judge one host's mounts by another host's devices) and `--record FILE` (save every answer
the live host gave, for a reproducible bug report).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from kata_console.cli import UsageError
from kata_console.cli.fileargs import check_output_file, path_arg
from kata_console.engine.jsonfile import InputFileError, read_input
from kata_console.engine.mounts.mounttable import MountTable, MountTableError
from kata_console.engine.ports import HostView


def add_host_arguments(parser: argparse.ArgumentParser) -> None:
    src = parser.add_mutually_exclusive_group()
    src.add_argument(
        "--mountinfo",
        type=path_arg,
        metavar="FILE",
        help="read this mount table (mountinfo or /proc/mounts format)",
    )
    src.add_argument(
        "--pid", type=int, metavar="PID", help="inspect the mount namespace of this process"
    )
    parser.add_argument(
        "--snapshot",
        type=path_arg,
        metavar="FILE",
        help="answer from a recorded host snapshot instead of the live kernel "
        "(it has its own mount table: not with --mountinfo)",
    )
    parser.add_argument(
        "--record",
        type=path_arg,
        metavar="FILE",
        help="save every answer of the live host to FILE (a replayable snapshot)",
    )


@dataclass
class HostContext:
    """The inspected host, its mount table, and whether st_dev cross-checks are meaningful."""

    host: HostView
    table: MountTable
    same_namespace: bool
    record_path: str | None = None

    def finish(self) -> None:
        """Save the recording, if one was asked for; OSError with a one-line text if it
        could not be written (nothing is left behind: the save is atomic)."""
        if self.record_path:
            try:
                self.host.save(self.record_path)  # type: ignore[attr-defined]
            except OSError as exc:
                reason = exc.strerror or str(exc)
                raise OSError(exc.errno, f"cannot save {self.record_path}: {reason}") from None


def absolute_paths(paths: list[str]) -> list[str]:
    """PATH arguments as absolute paths: relative ones (and `..`) against the working
    directory, lexically, as a shell user means them."""
    return [os.path.abspath(p) for p in paths]


def open_host(args: argparse.Namespace) -> HostContext:
    """Build the host view and mount table the options ask for; bad input -> UsageError."""
    if args.snapshot and args.record:
        raise UsageError("--record records the live host; it cannot be combined with --snapshot")
    if args.snapshot and args.mountinfo:
        raise UsageError(
            "--mountinfo and --snapshot describe two different hosts: give one of them"
        )
    if args.record:
        check_output_file(args.record, "--record")
    if args.snapshot:
        from backends.host.snapshot import SnapshotError, SnapshotHost

        try:
            host: HostView = SnapshotHost.load(args.snapshot)
        except FileNotFoundError:
            raise UsageError(f"{args.snapshot}: no such snapshot file") from None
        except (OSError, SnapshotError) as exc:
            raise UsageError(str(exc)) from None
    else:
        from backends.host.linux import LinuxHost

        host = LinuxHost()
    recorder = None
    if args.record:
        from backends.host.snapshot import RecordingHost

        recorder = RecordingHost(host, description="recorded by kata-console")
        host = recorder
    same_ns = False
    if args.mountinfo:
        try:
            # bytes: a text-mode read would split on \r, which the kernel does not escape
            text: str | bytes = read_input(args.mountinfo, "mount table")
        except InputFileError as exc:
            raise UsageError(str(exc)) from None
    else:
        try:
            text = host.read_mountinfo(args.pid)
        except OSError:
            who = f"process {args.pid}" if args.pid is not None else "this host"
            raise UsageError(f"cannot read the mount table of {who}") from None
        same_ns = not args.snapshot and (args.pid is None or _same_mount_ns(args.pid))
    try:
        table = MountTable(text)
    except MountTableError as exc:
        raise UsageError(f"{args.mountinfo or 'mount table'}: {exc}") from None
    return HostContext(host, table, same_ns, args.record if recorder is not None else None)


def _same_mount_ns(pid: int) -> bool:
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt") == os.readlink("/proc/self/ns/mnt")
    except OSError:
        return False
