"""The VM's own account beside the engine's, for sandboxes on a hypervisor that has one.

QEMU lists its block nodes (`query-block`); the engine holds its device table. The console
shows both, matched by node name (the engine's drive id), so a device the engine believes
plugged but QEMU does not list, or a disk attached in QEMU that no device accounts for,
stands out. (`query-block` lists block backends behind a device; a node left by a lone
`blockdev-add` is not among them.)
The look is QEMU's read-only query, kept out of the steps and the log.
"""

from __future__ import annotations

import asyncio

from kata_console.engine.lifecycle.sandbox import Sandbox
from kata_console.sources.model import SandboxView

#: seconds the console waits for a VM's own account on a refresh
VM_QUERY_TIMEOUT = 2.0


async def vm_view(sb: Sandbox, view: SandboxView) -> None:
    """The VM's own account next to the engine's: its facts, and QEMU's `query-block`
    matched to the device table by node name, so a device the engine holds plugged but
    QEMU does not list (or the reverse) stands out."""
    hv = sb.hypervisor
    query = getattr(hv, "query_block", None)
    if not callable(query):  # the simulated VM has no account of its own to compare
        return
    view.facts[:0] = list(hv.facts())  # first: the facts panel cuts from the end
    if not getattr(hv, "running", False):
        return
    try:
        blocks = await asyncio.wait_for(query(quiet=True), VM_QUERY_TIMEOUT)
    except Exception as exc:  # a VM that does not answer is shown, never raised
        why = str(exc) or f"no answer in {VM_QUERY_TIMEOUT:g} s"
        view.errors.append(f"QEMU query-block: {why}")
        return
    nodes = {str(b.get("node") or ""): b for b in blocks}
    for device in view.devices:
        dev = sb.devices.devices.get(device.id)
        drive = getattr(dev, "drive", None)
        if drive is None or not dev.attached:  # type: ignore[union-attr]
            continue  # not plugged as the engine sees it: a node QEMU has is left over
        block = nodes.pop(drive.id, None)
        device.vm = "" if block is None else str(block.get("address") or "?")
    view.vm_only = [b for node, b in nodes.items() if node]
