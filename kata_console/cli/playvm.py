"""What `play` says about the VM it ran, and stopping it at the end (unless `--keep`)."""

from __future__ import annotations

import sys
from typing import Any

from kata_console.engine.ports import Hypervisor, HypervisorError


async def vm_summary(hypervisor: Hypervisor, note: str, *, keep: bool) -> dict[str, Any]:
    """`play --json`'s `hypervisor` object: which one ran, and for QEMU where to find the
    VM (`kept`: it is left running for the operator)."""
    kind = getattr(hypervisor, "kind", "sim")
    running = bool(getattr(hypervisor, "running", False))
    out: dict[str, Any] = {"type": kind, "note": note or None, "running": running}
    if kind == "qemu":
        out.update(
            version=getattr(hypervisor, "version", "") or None,
            pid=getattr(hypervisor, "pid", None),
            qmp_socket=str(getattr(hypervisor, "qmp_socket", "")) or None,
            exit=getattr(hypervisor, "exit_reason", None),
        )
    out["kept"] = keep and running and kind == "qemu"
    return out


async def stop_vm(hypervisor: Hypervisor) -> None:
    """Stop a VM this run started; a failure is a warning line (the results stand)."""
    if not getattr(hypervisor, "running", False) or getattr(hypervisor, "kind", "") != "qemu":
        return
    try:
        await hypervisor.stop_vm()
    except HypervisorError as exc:
        print(f"kata-console play: warning: stopping the VM: {exc}", file=sys.stderr)


def print_vm(vm: dict[str, Any]) -> None:
    if vm["type"] != "qemu":
        return
    if vm["kept"]:
        sys.stdout.write(
            f"VM kept: QEMU {vm['version']}, pid {vm['pid']}, QMP {vm['qmp_socket']}\n"
            f"  stop it with: kill {vm['pid']}   (or QMP quit on that socket)\n"
        )
    elif vm["running"]:
        sys.stdout.write(f"VM: QEMU {vm['version']}, pid {vm['pid']}: stopped at exit\n")
    elif vm.get("exit"):
        sys.stdout.write(f"VM: QEMU pid {vm['pid']} {vm['exit']}\n")
