"""`kata-console agent`: exit codes, one-line errors, clean shutdown on signals."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

AGENT = [sys.executable, "-m", "kata_console", "agent"]


@pytest.fixture
def base() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="kc-cli-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.02)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(base: Path, sig: signal.Signals) -> None:
    sock = base / "run" / "agent.sock"
    proc = subprocess.Popen(
        [*AGENT, "--listen", f"unix://{sock}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(sock.exists)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert out.strip() == f"kata-console agent: listening on unix://{sock}"
    assert err == ""
    assert not sock.exists()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*AGENT, *args], capture_output=True, text=True, timeout=30, check=False)


def test_world_writable_dir_fails_with_one_line(base: Path) -> None:
    (base / "pub").mkdir()
    (base / "pub").chmod(0o777)
    done = _run("--listen", f"unix://{base}/pub/agent.sock")
    assert done.returncode == 2  # an unsafe directory is bad input, like any other
    assert done.stderr.count("\n") == 1 and "world-writable" in done.stderr
    assert not (base / "pub" / "agent.sock").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--listen", "unix:///tmp/kc/agent.sock", "--fault", "StartContainer=explode"],
            "bad fault",
        ),
        (["--listen", "unix:///tmp/kc/agent.sock", "--fault", "Nope=crash"], "unknown RPC"),
        (["--listen", "unix://relative.sock"], "must be absolute"),
        (["--listen", "tcp://127.0.0.1:1024"], "not a unix:// address"),
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str], message: str) -> None:
    done = _run(*args)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and message in done.stderr
    assert done.stderr.startswith("kata-console agent: error: ")


def test_exit_with_parent_leaves_no_orphan(base: Path) -> None:
    sock = base / "run" / "agent.sock"
    cmd = [*AGENT, "--listen", f"unix://{sock}", "--exit-with-parent"]
    parent = subprocess.Popen(
        [sys.executable, "-c",
         "import subprocess, sys, time\n"
         f"p = subprocess.Popen({cmd!r})\n"
         "print(p.pid, flush=True)\n"
         "time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    agent_pid = 0
    try:
        assert parent.stdout is not None
        agent_pid = int(parent.stdout.readline())
        _wait_for(sock.exists)
        parent.kill()
        parent.wait()
        _wait_for(lambda: _gone(agent_pid), timeout=5)
        assert not sock.exists()  # it shut down cleanly, not killed
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if agent_pid and not _gone(agent_pid):
            os.kill(agent_pid, signal.SIGKILL)
