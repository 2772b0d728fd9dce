"""Human rendering of `inspect`: a header for the host, then one rich tree per sandbox
(state, processes, network, shim, containers with their chains, devices both sides), and
the errors of each sandbox at the end of its tree."""

from __future__ import annotations

import datetime as _dt
import sys

from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from kata_console.chaintext import layer_label, overlay_label, verdict_text
from kata_console.cli.chainview import _PipeConsole
from kata_console.engine.inspect.report import HostReport, SandboxReport
from kata_console.sources.model import format_age


def _age(seconds: float) -> str:
    now = _dt.datetime.now(_dt.UTC)
    return format_age(now - _dt.timedelta(seconds=seconds), now)


def _mib(n: int | None) -> str:
    return "-" if n is None else f"{n / (1 << 20):.1f} MiB"


def host_line(report: HostReport) -> Text:
    h = report.host
    mem = f"{_mib(h.mem_available)} free of {_mib(h.mem_total)}" if h.mem_total else "memory ?"
    load = " ".join(f"{x:.2f}" for x in h.load) or "?"
    return Text(
        f"host {h.hostname or '?'}  kernel {h.kernel or '?'}  {h.cpus} CPUs  load {load}  "
        f"{mem}  up {_age(h.uptime)}  sandboxes {len(report.sandboxes)}",
        style="bold",
    )


def _sandbox_tree(s: SandboxReport) -> Tree:
    head = Text(f"sandbox {s.id}", style="bold")
    head.append(f"  {s.state or 'state unknown'}", style="green" if s.state == "running" else "")
    head.append(f"  {s.hypervisor or '-'}  {s.runtime} runtime  {s.state_dir}", style="dim")
    tree = Tree(head)
    procs = tree.add("processes" if s.processes else Text("processes: none found", style="yellow"))
    for p in s.processes:
        line = f"{p.role:<9} {p.pid:>7}  {p.name}"
        if p.error:
            line += f"  ({p.error})"
        else:
            cpu = "-" if p.cpu_percent is None else f"{p.cpu_percent:.1f}%"
            line += (
                f"  cpu {cpu}  rss {_mib(p.rss)}  threads {p.threads or '-'}  fds {p.fds or '-'}"
            )
        procs.add(line)
    if s.network is not None:
        n = s.network
        net = tree.add(f"network {n.netns or '-'}")
        if n.error:
            net.add(Text(n.error, style="red"))
        for link in n.links:
            st = link.stats
            net.add(
                f"{link.name} ({link.kind or 'loopback' if link.name == 'lo' else link.kind or '?'}) rx {st.get('rx_bytes', 0)} B "
                f"{st.get('rx_packets', 0)} pkts {st.get('rx_errors', 0)} err "
                f"{st.get('rx_dropped', 0)} drop  tx {st.get('tx_bytes', 0)} B "
                f"{st.get('tx_packets', 0)} pkts"
            )
        for r in n.redirects:
            net.add(f"tc ingress {r.src} -> {r.dst} ({r.action})")
    if s.shim is not None:
        sh = s.shim
        text = f"shim {sh.socket}: " + (
            f"agent {sh.agent_url}" if sh.reachable else (sh.error or "unreachable")
        )
        node = tree.add(Text(text, style="" if sh.reachable else "yellow"))
        for key, value in sorted((sh.metrics or {}).items()):
            shown = _mib(int(value)) if key.endswith("_bytes") else f"{value:g}"
            node.add(f"{key.removesuffix('_bytes')} {shown}")
    for c in s.containers:
        node = tree.add(f"container {c.id}  {c.state}  rootfs {c.rootfs or '-'}")
        if c.chain is not None:
            chain = node.add(overlay_label(c.chain))
            for layer in c.chain.layers:
                chain.add(layer_label(layer))
            if c.chain.erofs:
                chain.add(verdict_text(c.chain))
        elif c.chain_note:
            node.add(Text(c.chain_note, style="italic"))
    if s.devices:
        devs = tree.add("devices (persist.json | host)")
        for d in s.devices:
            host = d.get("host")
            where = ", ".join(host["mounts"]) if host else "not found on the host"
            devs.add(
                f"{d['id']}  {d['kind']}  ref {d['refcount']} attach {d['attach_count']}  "
                f"{d['address'] or '-'}  {d['host_path'] or '-'} | {where}"
            )
    if s.files and s.runtime == "rust":
        tree.add("files: " + ", ".join(s.files))
    for err in s.errors:
        tree.add(Text(err, style="red"))
    return tree


def print_host_report(report: HostReport, console: Console | None = None) -> None:
    if console is None:
        piped = not sys.stdout.isatty()
        console = _PipeConsole(highlight=False, width=10_000 if piped else None)
    console.print(host_line(report))
    if not report.sandboxes:
        console.print("no Kata sandboxes in the state directories")
    for s in report.sandboxes:
        console.print(_sandbox_tree(s))
    for w in report.warnings:
        console.print(Text(f"warning: {w}", style="yellow"))
