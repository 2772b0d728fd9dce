"""Test doubles of Kata's host processes, for the discovery tests and benchmark.

A tiny C program, compiled once and copied under Kata's real binary names
(`containerd-shim-kata-v2`, `qemu-system-x86_64`, `virtiofsd`, ...), is run with the argv
shapes Kata's Go runtime uses. Being real executables with those names, they get the
kernel's real 15-character comm (`containerd-shim`, `qemu-system-x86`) and psutil has to
restore the full name exactly as it does for Kata's. They are stand-ins: nothing in them
behaves like a shim or a VM; they sleep.

The stand-in for a shim starts its "VMM" and "virtiofsd" itself (fork + exec, as the Go
shim does with `exec.Command(...).Start()`), so the parent links are real. It reaps them
only when it gets SIGTERM: a child killed before that stays a zombie under it, which is
what a test of zombies needs. Children die with it (PR_SET_PDEATHSIG), so nothing
outlives a test even if the shim is killed with SIGKILL.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

SANDBOX = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"
SHIM_ARGV = (
    "-namespace",
    "k8s.io",
    "-address",
    "/run/containerd/containerd.sock",
    "-publish-binary",
    "/usr/bin/containerd",
    "-id",
)
CHILDREN_ENV = "KC_FAKE_CHILDREN"

_SOURCE = r"""
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(void) {
    pid_t kids[16];
    int nkids = 0;
    sigset_t term, old;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, &old);
    const char *spec = getenv("KC_FAKE_CHILDREN");
    FILE *f = spec ? fopen(spec, "r") : NULL;
    static char line[16384];
    pid_t self = getpid();
    while (f && nkids < 16 && fgets(line, sizeof line, f)) {
        char *args[65];
        int n = 0;
        line[strcspn(line, "\n")] = 0;
        for (char *t = strtok(line, "\t"); t && n < 64; t = strtok(NULL, "\t")) args[n++] = t;
        args[n] = NULL;
        if (n == 0) continue;
        pid_t pid = fork();
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != self) _exit(1);
            unsetenv("KC_FAKE_CHILDREN");
            sigprocmask(SIG_SETMASK, &old, NULL);
            execv(args[0], args);
            _exit(127);
        }
        if (pid > 0) kids[nkids++] = pid;
    }
    if (f) fclose(f);
    while (!stop) sigsuspend(&old);
    for (int i = 0; i < nkids; i++) kill(kids[i], SIGKILL);
    for (int i = 0; i < nkids; i++) waitpid(kids[i], NULL, 0);
    return 0;
}
"""


def build_pause(workdir: Path) -> Path | None:
    """Compile the stand-in into `workdir`; None when there is no C compiler."""
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        return None
    src, out = workdir / "fake-kata.c", workdir / "fake-kata"
    src.write_text(_SOURCE)
    subprocess.run([cc, "-O2", "-o", str(out), str(src)], check=True, capture_output=True)
    return out


def install(pause: Path, bindir: Path, name: str) -> Path:
    """The stand-in under a real binary name (a copy: the kernel takes comm from the
    file name exec'd)."""
    bindir.mkdir(parents=True, exist_ok=True)
    dest = bindir / name
    if not dest.exists():
        shutil.copy2(pause, dest)
    return dest


def wait_until(cond: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what or cond}")
        time.sleep(0.01)


def argv_of(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            data = fh.read()
    except OSError:
        return []
    return [a.decode() for a in data.split(b"\0")[:-1]]


def children_of(pid: int) -> list[int]:
    """Direct children by a walk of /proc (tests only; it reads every process)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    stat = fh.read()
            except OSError:
                continue
            if int(stat[stat.rfind(b")") + 2 :].split()[1]) == pid:
                out.append(int(entry))
    return sorted(out)


class FakeTree:
    """A shim stand-in and the children it starts; `close()` ends and reaps them all."""

    def __init__(
        self,
        shim: Sequence[str],
        children: Sequence[Sequence[str]] = (),
        specdir: Path | None = None,
    ) -> None:
        env = dict(os.environ)
        if children:
            assert specdir is not None
            spec = specdir / f"children-{time.monotonic_ns()}"
            spec.write_text("".join("\t".join(c) + "\n" for c in children))
            env[CHILDREN_ENV] = str(spec)
        # its own process group: a Ctrl-C at the terminal is for the caller, which then
        # ends the tree in order (SIGTERM, the stand-in reaps its children)
        self.shim = subprocess.Popen(list(shim), env=env, stdin=subprocess.DEVNULL, process_group=0)
        self.children: list[int] = []
        want = [list(c) for c in children]

        def started() -> bool:
            kids = children_of(self.shim.pid)
            if sorted(map(tuple, (argv_of(k) for k in kids))) != sorted(map(tuple, want)):
                return False
            self.children = kids
            return True

        try:
            wait_until(lambda: argv_of(self.shim.pid) == list(shim), what="the shim's exec")
            wait_until(started, what="the shim's children")
        except BaseException:
            self.close()
            raise

    def child(self, argv0: str) -> int:
        return next(k for k in self.children if argv_of(k)[:1] == [argv0])

    def close(self) -> None:
        """SIGTERM: the stand-in kills and reaps its children, then exits and is reaped
        here; SIGKILL if it does not, and its children then die of PDEATHSIG."""
        if self.shim.poll() is None:
            self.shim.send_signal(signal.SIGTERM)
            try:
                self.shim.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.shim.kill()
                self.shim.wait()
