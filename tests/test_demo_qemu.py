"""The demo on a real QEMU when one is installed: every sandbox's VM is a real, paused
`qemu-system-x86_64` (there is no guest kernel; the guest is the simulated agent), its
layers attached as stand-ins for the recorded node's files, and the DEMO marker says which
parts are real. Without QEMU the same scenario runs on the simulated hypervisor and the
marker says that instead."""

from __future__ import annotations

import asyncio
import os

import pytest

from kata_console.sources.demo_source import DemoSource
from tests.qemukit import needs_qemu
from tests.tui_support import make_app


async def _settle(app, source: DemoSource, pilot) -> str:  # type: ignore[no-untyped-def]
    """The breadcrumb once the whole scenario has played and the console shows it."""
    await asyncio.wait_for(source.ready(), 60)
    for _ in range(50):
        await pilot.pause(0.1)
        if len(app.sandboxes) == 3:
            break
    await pilot.pause(0.3)
    return str(app.screen.query_one("Breadcrumb").render())


@needs_qemu
async def test_the_demo_runs_each_sandbox_on_a_paused_qemu_and_says_so() -> None:
    source = DemoSource()
    app = make_app(source)
    pids: list[int] = []
    async with app.run_test(size=(200, 50)) as pilot:
        line = await _settle(app, source, pilot)
        vms = {sid: sb.hypervisor for sid, sb in source.sandboxes.items()}
        pids = [vm.pid for vm in vms.values() if getattr(vm, "pid", None)]
        version = vms["sb-web"].version.split()[0]
        assert f"DEMO  VM: QEMU {version}, prelaunch; guest: simulated agent " in line
        assert {sb.config.hypervisor_type for sb in source.sandboxes.values()} == {"qemu"}
        blocks = await vms["sb-web"].query_block(quiet=True)
        assert len(blocks) == 2 and all(b["read_only"] for b in blocks)  # web and api share 2
        assert vms["sb-web"].running and vms["sb-batch"].running
        assert not vms["sb-legacy"].running  # the scenario stopped that sandbox
        web = app.sandbox("sb-web")
        assert web is not None
        vmm = [p for p in web.processes if p.role == "vmm"]
        assert [p.pid for p in vmm] == [vms["sb-web"].pid]  # the real QEMU, not the recorded
        assert vmm[0].rss and vmm[0].rss > 1 << 20 and "sandbox-sb-web" in vmm[0].cmdline
        assert dict(web.facts)["vm pid"] == str(vms["sb-web"].pid)
        legacy = app.sandbox("sb-legacy")
        assert legacy is not None and dict(legacy.facts)["vm pid"].endswith(" (exited)")
        assert [p.status for p in legacy.processes if p.role == "vmm"] == ["exited"]
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        narrow = str(app.screen.query_one("Breadcrumb").render())
        # the findings badge (doctor's rules on the chains shown) and the path leave room
        # for the short form
        assert narrow.rstrip().endswith(" 3 err  1 warn  partial   DEMO  QEMU, sim guest")
        await pilot.press("enter")  # sb-web: the longer path leaves no room for the marker;
        await pilot.pause(0.3)  # the findings badge and DEMO stay
        deeper = str(app.screen.query_one("Breadcrumb").render())
        assert "sandboxes \u203a sb-web" in deeper
        assert " 3 err  1 warn  partial   DEMO " in deeper
    await source.close()
    for pid in pids:  # the console's exit stopped every VM
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


async def test_the_demo_on_the_simulator_says_its_vms_are_simulated() -> None:
    source = DemoSource(hypervisor="sim")
    app = make_app(source)
    async with app.run_test(size=(200, 50)) as pilot:
        wide = await _settle(app, source, pilot)
        assert "DEMO  VM: simulated; guest: simulated agent · source: demo " in wide
        assert {sb.config.hypervisor_type for sb in source.sandboxes.values()} == {"sim"}
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        narrow = str(app.screen.query_one("Breadcrumb").render())
        assert narrow.startswith(" kata-console  sandboxes") and len(narrow) == 80
        assert " 3 err  1 warn  partial   DEMO  sim VM, sim guest" in narrow
    await source.close()
