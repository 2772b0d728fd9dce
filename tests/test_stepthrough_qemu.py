"""The step-through on a real QEMU: each QMP command is shown at the gate before it is
sent (QEMU does not have the node yet), and its reply lands with the step in the timeline.
The plan is the console's step-through plan on the recorded demo host, so its layers are
attached as stand-ins (the recorded files are not on this machine)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from backends.hypervisor.qemu import QemuHypervisor
from tests.qemukit import needs_qemu
from tests.test_tui_stepthrough import STEPTHROUGH, plan_app, settle, step, view
from widgets.step_preview import StepPreview
from widgets.step_timeline import StepTimeline


def _qemu_plan(tmp_path: Path) -> Path:
    doc = json.loads(STEPTHROUGH.read_text())
    doc["sandbox"]["hypervisor"] = "qemu"
    doc["sandbox"]["host"] = str(STEPTHROUGH.parent / doc["sandbox"]["host"])
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc))
    return path


@needs_qemu
async def test_each_qmp_command_is_shown_before_it_is_sent_and_its_reply_after(
    tmp_path: Path,
) -> None:
    app, source = plan_app(_qemu_plan(tmp_path))
    pid = None
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            await settle(pilot)
            screen = view(app)
            preview, timeline = screen.query_one(StepPreview), screen.query_one(StepTimeline)
            assert preview.step == "start VM (qemu)"
            vm: QemuHypervisor | None = None
            checked = 0
            while not source.progress.finished:
                text = preview.step
                if text.startswith("QMP blockdev-add "):
                    assert vm is not None and vm.running
                    node = json.loads(text.removeprefix("QMP blockdev-add "))["node-name"]
                    nodes = {b["node"] for b in await vm.query_block(quiet=True)}
                    assert node not in nodes  # held at the gate: not sent yet
                await step(pilot)
                if "sb-step" in source.sandboxes:  # until delete_sandbox
                    vm = source.sandboxes["sb-step"].hypervisor  # type: ignore[assignment]
                    pid = pid or getattr(vm, "pid", None)
                if text.startswith("QMP "):
                    landed = next(r for r in reversed(source.progress.steps) if r.text == text)
                    assert landed.result is not None and landed.status == "OK"
                    assert isinstance(json.loads(landed.result), (dict, list))
                    cell = timeline.get_row(str(landed.step))[-1]
                    assert f"⇐ {landed.result}" in cell.plain
                    checked += text.startswith(("QMP blockdev-add ", "QMP device_add "))
            assert checked == 4  # two layers: blockdev-add and device_add each
            assert [op.status for op in source.progress.ops] == ["ok"] * 7
    finally:
        await source.close()
    assert pid is not None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # delete_sandbox stopped the VM


async def test_a_step_beside_a_held_one_does_not_hide_it() -> None:
    """The health monitor's ungated check runs while a step waits at the gate, and a
    hot-plug's QMP commands run inside it: the preview keeps the held step, and the running
    step is the innermost one still open."""
    import asyncio

    from kata_console.engine.lifecycle.events import EventBus, Stepper
    from kata_console.sources.plan_source import OpRow, PlanProgress

    bus = EventBus(stepper=Stepper(hold=True))
    progress = PlanProgress([OpRow(0, "create_container", "c1")])
    bus.subscribe(progress.apply)

    async def held() -> None:
        async with bus.step("QMP blockdev-add {}", sandbox="sb"):
            pass

    task = asyncio.get_running_loop().create_task(held())
    await asyncio.sleep(0)
    assert progress.held is not None and progress.held.text == "QMP blockdev-add {}"
    async with bus.step("QMP query-status", sandbox="sb", gate=False):
        assert progress.held is not None  # still waiting at the gate
    assert progress.held is not None and progress.held.text == "QMP blockdev-add {}"
    async with bus.step("hotplug block", sandbox="sb", gate=False):
        async with bus.step("QMP device_add {}", sandbox="sb", gate=False):
            assert progress.running is not None and progress.running.text == "QMP device_add {}"
        assert progress.running is not None and progress.running.text == "hotplug block"
    assert progress.running is None
    bus.stepper.release()
    await task
    assert progress.held is None
