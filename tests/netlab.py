"""A real Kata network, built for tests and benchmarks: namespaces, veth, tap, tc redirects.

Three namespaces, unique per lab, wired as a Kata node wires a sandbox (tcfilter model,
`setupTCFiltering` in Kata's network_linux.go):

* `cni`: the CNI side, holding the host end of the veth pair (`veth0`, 10.231.0.1/24);
* `sandbox`: the sandbox netns Kata persists as `Network.NetworkID`, holding the other end
  (`eth0`) and `tap0_kata` (MTU of the veth), an ingress qdisc (`ffff:`) on both, and a
  u32 match-all filter with `mirred egress redirect` each way;
* `guest`: stands in for the VM. Its NIC is a tap with the veth's MAC and 10.231.0.2/24;
  a relay thread (the VMM's stand-in) holds both taps open and copies frames between
  them, so the taps have carrier and traffic crosses the whole path for real.

`udp_echo(n)` sends n datagrams from the CNI side to the guest and counts the echoes: each
one went veth -> mirred -> tap -> "VM" and back. Everything is undone by `close()`,
namespaces first (deleting one removes its links and the veth's other end), then
`/run/netns` itself, but only when this lab created it and it is empty: `ip netns add`
creates it as a self bind-mount on first use.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import errno
import fcntl
import json
import os
import secrets
import select
import shutil
import socket
import struct
import subprocess
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

RUN_NETNS = "/run/netns"
CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
CNI_ADDR, GUEST_ADDR = "10.231.0.1", "10.231.0.2"
ECHO_PORT = 7
# the exact filter Kata documents above addRedirectTCFilter
MIRRED = ["protocol", "all", "u32", "match", "u8", "0", "0"]
MIRRED += ["action", "mirred", "egress", "redirect", "dev"]

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def netlab_skip_reason() -> str | None:
    """Why a NetLab cannot be built here, or None."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if missing:
        return f"needs iproute2 ({', '.join(missing)} not on PATH)"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun for the tap devices"
    return None


def run(*argv: str) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def in_netns(path: str, fn: Callable[[], T]) -> T:
    """`fn()` run in a fresh thread moved into the namespace at `path` (a network
    namespace is per thread: the caller's stays where it is)."""
    out: dict[str, object] = {}

    def body() -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns", path)
            finally:
                os.close(fd)
            out["value"] = fn()
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]  # type: ignore[misc]
    return out["value"]  # type: ignore[return-value]


def open_tap(name: str) -> int:
    """Attach to the persistent tap `name` of the current thread's namespace (a VMM does
    this; the tap gets carrier while the fd is open)."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


class _Relay:
    """The VMM stand-in: frames out of one tap go into the other, both ways."""

    def __init__(self, a: int, b: int) -> None:
        self.fds = (a, b)
        self._stop_r, self._stop_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="netlab-relay", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        a, b = self.fds
        peer = {a: b, b: a}
        while True:
            ready, _, _ = select.select([a, b, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            for fd in ready:
                try:
                    os.write(peer[fd], os.read(fd, 65536))
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EIO, errno.EINVAL):
                        raise

    def close(self) -> None:
        os.write(self._stop_w, b"x")
        self._thread.join(5)
        for fd in (*self.fds, self._stop_r, self._stop_w):
            os.close(fd)


class NetLab:
    """See the module docstring. Attributes are the namespaces' names (`sandbox`, `cni`,
    `guest`) and paths (`sandbox_path`...)."""

    def __init__(self) -> None:
        tag = f"kcn{os.getpid() % 100000}{secrets.token_hex(2)}"
        self.sandbox, self.cni, self.guest = f"{tag}-sbx", f"{tag}-cni", f"{tag}-vm"
        self.made: list[str] = []
        self._run_dir: tuple[int, int] | None = None
        self._relay: _Relay | None = None
        self._echo: tuple[socket.socket, threading.Thread, threading.Event] | None = None
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    def path(self, name: str) -> str:
        return os.path.join(RUN_NETNS, name)

    @property
    def sandbox_path(self) -> str:
        return self.path(self.sandbox)

    def add_netns(self, name: str) -> None:
        existed = os.path.lexists(RUN_NETNS)
        run("ip", "netns", "add", name)
        self.made.append(name)
        if not existed and self._run_dir is None:
            st = os.stat(RUN_NETNS)
            self._run_dir = (st.st_dev, st.st_ino)

    def _build(self) -> None:
        s, c, g = self.sandbox, self.cni, self.guest
        for name in (s, c, g):
            self.add_netns(name)
        run("ip", "-n", c, "link", "add", "veth0", "type", "veth", "peer", "eth0", "netns", s)
        run("ip", "-n", s, "tuntap", "add", "dev", "tap0_kata", "mode", "tap")
        eth0 = json.loads(run("ip", "-n", s, "-j", "link", "show", "eth0"))[0]
        mac, mtu = eth0["address"], str(eth0["mtu"])
        run("ip", "-n", s, "link", "set", "tap0_kata", "mtu", mtu, "up")
        run("ip", "-n", s, "link", "set", "eth0", "up")
        run("ip", "-n", c, "addr", "add", f"{CNI_ADDR}/24", "dev", "veth0")
        run("ip", "-n", c, "link", "set", "veth0", "up")
        run("tc", "-n", s, "qdisc", "add", "dev", "tap0_kata", "handle", "ffff:", "ingress")
        run("tc", "-n", s, "qdisc", "add", "dev", "eth0", "handle", "ffff:", "ingress")
        run("tc", "-n", s, "filter", "add", "dev", "eth0", "parent", "ffff:", *MIRRED, "tap0_kata")
        run("tc", "-n", s, "filter", "add", "dev", "tap0_kata", "parent", "ffff:", *MIRRED, "eth0")
        run("ip", "-n", g, "tuntap", "add", "dev", "eth0", "mode", "tap")
        run("ip", "-n", g, "link", "set", "eth0", "address", mac, "mtu", mtu, "up")
        run("ip", "-n", g, "addr", "add", f"{GUEST_ADDR}/24", "dev", "eth0")
        vm_side = in_netns(self.sandbox_path, lambda: open_tap("tap0_kata"))
        guest_nic = in_netns(self.path(g), lambda: open_tap("eth0"))
        self._relay = _Relay(vm_side, guest_nic)
        self._start_echo()

    def _start_echo(self) -> None:
        def bind() -> socket.socket:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((GUEST_ADDR, ECHO_PORT))
            return sock

        sock = in_netns(self.path(self.guest), bind)
        sock.settimeout(0.1)
        stop = threading.Event()

        def serve() -> None:
            while not stop.is_set():
                try:
                    data, peer = sock.recvfrom(65536)
                    sock.sendto(data, peer)
                except TimeoutError:
                    continue
                except OSError:
                    return

        thread = threading.Thread(target=serve, name="netlab-echo", daemon=True)
        thread.start()
        self._echo = (sock, thread, stop)

    def udp_echo(self, count: int, size: int = 64, timeout: float = 3.0) -> int:
        """Send `count` datagrams of `size` bytes from the CNI side to the guest, one at a
        time; how many came back."""

        def client() -> int:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.settimeout(timeout)
                answered = 0
                for i in range(count):
                    sock.sendto(i.to_bytes(4, "big") * (size // 4), (GUEST_ADDR, ECHO_PORT))
                    with contextlib.suppress(TimeoutError):
                        answered += sock.recv(65536)[:4] == i.to_bytes(4, "big")
                return answered

        return in_netns(self.path(self.cni), client)

    def close(self) -> None:
        if self._echo is not None:
            sock, thread, stop = self._echo
            stop.set()
            thread.join(2)
            sock.close()
            self._echo = None
        if self._relay is not None:
            self._relay.close()
            self._relay = None
        errors = []
        for name in reversed(self.made):
            try:
                run("ip", "netns", "del", name)
            except RuntimeError as exc:
                errors.append(str(exc))
        self.made.clear()
        self._release_run_dir()
        if errors:
            raise RuntimeError("; ".join(errors))

    def _release_run_dir(self) -> None:
        """Undo `/run/netns` if this lab's first `ip netns add` created it and nothing
        else lives there now (another user's namespace keeps it)."""
        if self._run_dir is None:
            return
        try:
            st = os.stat(RUN_NETNS)
            if (st.st_dev, st.st_ino) != self._run_dir or os.listdir(RUN_NETNS):
                return
        except FileNotFoundError:
            return
        subprocess.run(["umount", RUN_NETNS], capture_output=True, check=False)
        with contextlib.suppress(OSError):
            os.rmdir(RUN_NETNS)
        self._run_dir = None
