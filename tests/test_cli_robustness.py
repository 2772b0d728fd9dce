"""The `kata-console` entry point: help, usage errors, closed pipes, odd numbers and bytes.

Each runs the installed console script as a subprocess, with a user's block-buffered
stdout, because that is where a closed pipe or an encoding error used to surface.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kata_console.cli import tui
from kata_console.engine.lifecycle.plan import PlanError, parse_plan
from tests.robustkit import BASIC_PLAN, DEMO_HOST, KATA, kata, one_line, refused, user_env

LAYER = "/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots/2/fs"
CONSOLE_OPTIONS = ("--source", "--keymap", "--theme", "--refresh", "--allow-actions")


# ------------------------------------------------------------------ closed pipes

PIPED = {
    "chains": ["chains", "--snapshot", DEMO_HOST],
    "chains --json": ["chains", "--snapshot", DEMO_HOST, "--json"],
    "rootfs": ["rootfs", "--snapshot", DEMO_HOST, "--type", "overlay", "--option",
               f"lowerdir={LAYER}"],
    "rootfs --json": ["rootfs", "--snapshot", DEMO_HOST, "--type", "overlay", "--json"],
    "play": ["play", BASIC_PLAN],
    "play --events": ["play", BASIC_PLAN, "--events"],
    "play --json": ["play", BASIC_PLAN, "--json"],
    "--help": ["--help"],
    "chains --help": ["chains", "--help"],
    "--version": ["--version"],
}  # fmt: skip


def run_into_closed_pipe(args: list[str], *, unbuffered: bool) -> tuple[int, str]:
    """stdout is a pipe whose reader is already gone (`| head -0`), so the very first
    write, or the flush at exit, meets EPIPE: no timing is involved."""
    r, w = os.pipe()
    os.close(r)
    env = user_env(PYTHONUNBUFFERED="1") if unbuffered else user_env()
    proc = subprocess.Popen([str(KATA), *args], stdout=w, stderr=subprocess.PIPE, env=env)
    os.close(w)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode(errors="replace")


@pytest.mark.parametrize("unbuffered", [False, True], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("name", PIPED)
def test_a_closed_pipe_is_not_a_failure(name: str, unbuffered: bool) -> None:
    code, err = run_into_closed_pipe(PIPED[name], unbuffered=unbuffered)
    assert err == "", err  # no "Exception ignored ... BrokenPipeError", no traceback
    assert code == 0


def test_head_reading_one_line_of_a_long_report(tmp_path: Path) -> None:
    """The real `kata-console chains | head -1`, with a report far larger than a pipe's
    buffer so that chains is still writing when head exits."""
    lines = ["22 1 0:21 / / rw - ext4 /dev/vda rw"]
    lines += [
        f"{100 + i} 22 0:{100 + i} / /run/o{i} rw - overlay overlay "
        f"rw,lowerdir=/l{i}a:/l{i}b,upperdir=/u{i},workdir=/w{i}"
        for i in range(3000)
    ]
    table = tmp_path / "mountinfo"
    table.write_text("\n".join(lines) + "\n")
    chains = subprocess.Popen(
        [str(KATA), "chains", "--mountinfo", str(table)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=user_env(),
    )
    assert chains.stdout is not None
    head = subprocess.run(
        ["head", "-1"], stdin=chains.stdout, capture_output=True, timeout=120, check=True
    )
    chains.stdout.close()
    _, err = chains.communicate(timeout=120)
    assert head.stdout.startswith(b"overlay /run/o0")
    assert err == b"" and chains.returncode == 0


# ------------------------------------------------------------------ help


def test_help_lists_the_console_options() -> None:
    proc = kata("--help")
    assert proc.returncode == 0 and proc.stderr == ""
    for option in CONSOLE_OPTIONS:
        assert option in proc.stdout, option
    for command in ("chains", "rootfs", "play", "agent"):
        assert command in proc.stdout
    assert "Exit codes: 0 fine, 1 the operation failed, 2 bad usage or input" in proc.stdout


@pytest.mark.parametrize(
    "args",
    [["--source", "demo", "--help"], ["--theme", "nord", "-h"], ["--refresh", "5", "--help"]],
)
def test_help_after_console_options_prints_help_and_starts_nothing(args: list[str]) -> None:
    proc = kata(*args, timeout=30)  # a started console would run until the timeout
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: kata-console") and "--refresh SECONDS" in proc.stdout


# ------------------------------------------------------------------ usage errors


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--bogus"], "kata-console: error: unrecognized arguments: --bogus"),
        (["--refresh", "x"], "argument --refresh: 'x' is not a number of seconds"),
        (["rootfs"], "the following arguments are required: --type"),
        (["chains", "--pid", "x"], "argument --pid: invalid int value: 'x'"),
        (["play"], "the following arguments are required: PLAN.json"),
        (["agent", "--tick-ms", "1.5", "--listen", "unix:///x"], "invalid int value"),
        (["--theme", "nord", "chains"], "--theme is a console option; it does not apply"),
        (["--allow-actions", "play", BASIC_PLAN], "--allow-actions is a console option"),
        (["sideways"], "unknown command 'sideways'"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], expected: str) -> None:
    assert expected in refused(*args, timeout=30)


@pytest.mark.parametrize(
    "value", ["-1", "0", "nan", "NaN", "inf", "-inf", "1e400", "86401", "0.001"]
)
def test_refresh_must_be_positive_and_finite(value: str) -> None:
    # before: the console started with a timer that fired continuously (100% CPU, deaf
    # to q and SIGTERM), so this run hit its timeout instead of exiting
    line = refused(f"--refresh={value}", timeout=30)
    assert "the refresh interval is a number of seconds from 0.5 to 86400" in line


def test_refresh_values_that_are_accepted() -> None:
    assert tui.refresh_seconds("0.5") == 0.5
    assert tui.refresh_seconds("86400") == 86400.0


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), -0.5, 2**40, 10**400],
    ids=["nan", "inf", "negative", "2**40", "10**400"],
)
@pytest.mark.parametrize("key", ["create_container_timeout", "dial_timeout"])
def test_plan_timeouts_must_be_finite_and_sane(key: str, value: float) -> None:
    doc = {"sandbox": {"id": "sb1", key: value}, "ops": []}
    with pytest.raises(PlanError, match=f'sandbox: field "{key}" must be a number of seconds'):
        parse_plan(doc)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("delay", float("nan"), 'field "delay" must be a number of seconds'),
        ("delay", -1, 'field "delay" must be a number of seconds'),
        ("delay", 1e300, 'field "delay" must be a number of seconds'),
        ("times", 0, 'field "times" must be from 1'),
        ("times", -3, 'field "times" must be from 1'),
    ],
)
def test_plan_fault_numbers(field: str, value: float, message: str) -> None:
    op = {"op": "inject_fault", "target": "agent", "method": "create_container", field: value}
    with pytest.raises(PlanError, match=message):
        parse_plan({"sandbox": {"id": "sb1"}, "ops": [op]})


def test_plan_device_numbers_are_bounded() -> None:
    for field, value in (("major", 10**30), ("minor", -1), ("uid", -1), ("gid", 2**32)):
        device = {"host_path": "/dev/sda", field: value}
        op = {"op": "create_container", "id": "c1", "devices": [device]}
        with pytest.raises(PlanError, match=f'devices\\[0\\]: field "{field}" must be from'):
            parse_plan({"sandbox": {"id": "sb1"}, "ops": [op]})


def test_an_infinite_timeout_in_a_plan_file_exits_2(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text('{"sandbox": {"id": "sb1", "agent": "sim", "dial_timeout": 1e999}, "ops": []}')
    assert 'field "dial_timeout" must be a number of seconds' in refused("play", str(plan))


# ------------------------------------------------------------------ bytes that are not UTF-8


def test_undecodable_paths_are_printed_without_a_traceback(tmp_path: Path) -> None:
    """A mount point with a non-UTF-8 byte, printed under a strict UTF-8 locale
    (en_US.UTF-8 gives stdout errors="strict"): human output writes the bytes back as
    the kernel has them, JSON escapes them so that the document stays valid UTF-8."""
    table = tmp_path / "mountinfo"
    table.write_bytes(
        b"22 1 0:21 / / rw - ext4 /dev/vda rw\n"
        b"30 22 0:30 / /mnt/\xff rw - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w\n"
    )
    env = user_env(PYTHONIOENCODING="utf-8:strict")
    human = subprocess.run(
        [str(KATA), "chains", "--mountinfo", str(table)], capture_output=True, env=env
    )
    assert human.returncode == 0, human.stderr
    assert b"/mnt/\xff" in human.stdout
    as_json = subprocess.run(
        [str(KATA), "chains", "--mountinfo", str(table), "--json"], capture_output=True, env=env
    )
    assert as_json.returncode == 0, as_json.stderr
    doc = json.loads(as_json.stdout.decode("utf-8"))  # strict: valid UTF-8
    assert doc["chains"][0]["target"] == "/mnt/\udcff"  # the surrogateescape of b"\xff"


# ------------------------------------------------------------------ the agent's socket


def test_agent_socket_refusals_exit_2(tmp_path: Path) -> None:
    public = tmp_path / "pub"
    public.mkdir()
    public.chmod(0o777)
    line = refused("agent", "--listen", f"unix://{public}/agent.sock")
    assert "group- or world-writable (mode 0777)" in line
    private = tmp_path / "priv"
    private.mkdir(mode=0o700)
    (private / "agent.sock").write_text("")
    assert "exists and is not a socket" in refused(
        "agent", "--listen", f"unix://{private}/agent.sock"
    )
    assert "is not a directory" in refused(
        "agent", "--listen", f"unix://{private}/agent.sock/x.sock"
    )
    assert "not valid UTF-8" in refused("agent", "--listen", f"unix://{private}/\udcff.sock")


@pytest.mark.parametrize(
    "delay",
    ["\u00b2", "9" * 5000, "4294967296", "-1"],
    ids=["superscript-two", "5000-digits", "over-uint32", "negative"],
)
def test_agent_fault_delays_are_ascii_milliseconds(delay: str, tmp_path: Path) -> None:
    line = refused(
        "agent", "--listen", f"unix://{tmp_path}/a.sock", "--fault", f"Check=delay:{delay}"
    )
    assert "delay needs milliseconds (0 to 4294967295)" in line


def test_spawn_refuses_an_unsafe_run_directory_as_bad_input(tmp_path: Path) -> None:
    """`play --state-dir D` spawns the agent in D/.vm/<sandbox>: one another user could
    write to would let them replace the socket, so it is refused, exit 2."""
    run_dir = tmp_path / "state" / ".vm" / "demo-basic"
    run_dir.mkdir(parents=True)
    run_dir.chmod(0o777)
    plan = json.loads(Path(BASIC_PLAN).read_text())
    plan["sandbox"]["agent"] = "spawn"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    line = refused("play", "--state-dir", str(tmp_path / "state"), str(path))
    assert f"refusing {run_dir}: group- or world-writable (mode 0777)" in line


def test_one_line_checker_catches_a_usage_block() -> None:
    """The helper these tests lean on would notice argparse's two-line usage + error."""
    proc = subprocess.CompletedProcess([], 2, "", "usage: kata-console [-h]\nkata-console: x\n")
    with pytest.raises(AssertionError):
        one_line(proc)


@pytest.mark.parametrize("keys", ["ctrl+\x00", "\udcff", "ctrl+\x1b", "x,\t"])
def test_keymap_keys_must_be_typeable(keys: str, tmp_path: Path) -> None:
    keymap = tmp_path / "keys.json"
    keymap.write_text(json.dumps({"container.stop": keys}))
    with pytest.raises(ValueError, match="is not a key"):
        tui.load_keymap(str(keymap))
