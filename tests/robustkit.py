"""Running the installed `kata-console` entry point the way a user's shell does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

#: the console script pip installed next to this interpreter (what `kata-console` runs)
KATA = Path(sys.executable).with_name("kata-console")
DEMO_HOST = str(REPO / "fixtures/hosts/demo.json")
BASIC_PLAN = str(REPO / "fixtures/plans/basic.json")


def user_env(**extra: str) -> dict[str, str]:
    """The environment of a user's shell: in particular stdout is block-buffered (this
    harness may export PYTHONUNBUFFERED, which hides the errors of the final flush)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env.update(extra)
    return env


def kata(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(KATA), *args],
        cwd=REPO,
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        env=user_env() if env is None else env,
        check=False,
    )


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused command (no traceback, no usage block)."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def refused(*args: str, timeout: float = 60) -> str:
    """Run a command that must be refused as bad input: exit 2 and one line, returned."""
    proc = kata(*args, timeout=timeout)
    line = one_line(proc)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    return line
