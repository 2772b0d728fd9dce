"""The machine's own facts for the console header and `inspect`: hostname, kernel, uptime,
CPUs, load and memory, from `os.uname`, `/proc/uptime`, `/proc/loadavg`, `/proc/meminfo`."""

from __future__ import annotations

import os

from kata_console.engine.inspect.facts import HostFacts


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read(65536)
    except OSError:
        return ""


def _meminfo_kib(text: str, key: str) -> int:
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name == key:
            try:
                return int(rest.split()[0]) * 1024
            except (ValueError, IndexError):
                return 0
    return 0


class LinuxHostInfo:
    """`HostInfoSource` for this machine (cheap: four small reads)."""

    def host_facts(self) -> HostFacts:
        uname = os.uname()
        try:
            uptime = float(_read("/proc/uptime").split()[0])
        except (ValueError, IndexError):
            uptime = 0.0
        try:
            load = [float(x) for x in _read("/proc/loadavg").split()[:3]]
        except ValueError:
            load = []
        mem = _read("/proc/meminfo")
        return HostFacts(
            hostname=uname.nodename,
            kernel=uname.release,
            uptime=uptime,
            cpus=os.cpu_count() or 0,
            load=load,
            mem_total=_meminfo_kib(mem, "MemTotal"),
            mem_available=_meminfo_kib(mem, "MemAvailable"),
        )
