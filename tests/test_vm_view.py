"""The sandbox view puts QEMU's own `query-block` beside the engine's device table: each
plugged device carries the address QEMU has it at, and a device QEMU lost (or a node it
holds that no device accounts for) stands out. The changes behind the engine's back are
made over QMP on the real VM."""

from __future__ import annotations

import json
from pathlib import Path

from backends.hypervisor.qemu import QemuHypervisor
from kata_console.sources.plan_source import PlanSource
from tests.qemukit import needs_qemu

PLANS = Path(__file__).resolve().parents[1] / "fixtures" / "plans"

pytestmark = needs_qemu


async def test_query_block_is_matched_to_the_device_table(tmp_path: Path) -> None:
    doc = json.loads((PLANS / "shared-erofs-layer-recorded-host.json").read_text())
    doc["sandbox"].update(hypervisor="qemu", block_device_driver="virtio-scsi")
    doc["sandbox"]["host"] = str(PLANS.parent / "hosts" / "demo.json")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(doc))
    source = PlanSource(plan, step=False)
    try:
        await source.load()
        await source.wait()
        sb = source.sandboxes["demo-recorded"]
        vm = sb.hypervisor
        assert isinstance(vm, QemuHypervisor)
        (view,) = await source.load()
        assert sorted(d.vm or "-" for d in view.devices) == ["0:0", "0:1"]
        assert [d.address for d in view.devices] == [d.vm for d in view.devices]
        assert view.vm_only == []
        facts = dict(view.facts)
        assert facts["vm pid"] == str(vm.pid) and facts["vm"].startswith("prelaunch, QEMU ")
        # behind the engine's back: QEMU loses one device and gains a node of its own
        lost = view.devices[0]
        drive = sb.devices.devices[lost.id].drive
        assert drive is not None
        await vm._device_del(f"virtio-{drive.id}")  # device_del and its DEVICE_DELETED
        await vm.process.execute("blockdev-del", {"node-name": drive.id})
        spare = tmp_path / "spare.img"
        spare.write_bytes(bytes(4096))
        await vm.process.execute(
            "blockdev-add",
            {
                "driver": "raw",
                "node-name": "stray",
                "file": {"driver": "file", "filename": str(spare)},
            },
        )
        await vm.process.execute(
            "device_add",
            {
                "driver": "scsi-hd",
                "id": "stray-disk",
                "drive": "stray",
                "bus": "scsi0.0",
                "scsi-id": 0,
                "lun": 9,
            },
        )
        (view,) = await source.load()
        by_id = {d.id: d for d in view.devices}
        assert by_id[lost.id].vm == "" and by_id[lost.id].attach_count >= 1  # engine: plugged
        assert [(b["node"], b["address"]) for b in view.vm_only or []] == [("stray", "0:9")]
    finally:
        await source.close()
    assert not vm.running


async def test_the_sandbox_view_marks_a_device_qemu_lost_and_a_disk_only_qemu_has(
    tmp_path: Path,
) -> None:
    from tests.tui_support import make_app
    from widgets.device_table import DeviceTable

    doc = json.loads((PLANS / "shared-erofs-layer-recorded-host.json").read_text())
    doc["sandbox"].update(hypervisor="qemu", block_device_driver="virtio-scsi")
    doc["sandbox"]["host"] = str(PLANS.parent / "hosts" / "demo.json")
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(doc))
    source = PlanSource(plan, step=False)
    app = make_app(source)  # type: ignore[arg-type]
    async with app.run_test(size=(160, 45)) as pilot:
        await source.wait()
        app.open_sandbox("demo-recorded")
        await pilot.pause(0.2)
        table = app.screen.query_one(DeviceTable)

        def addresses() -> dict[str, str]:
            col = [k for k, _ in table._columns].index("address")
            return {str(k.value): table.get_row(k)[col].plain for k in table.rows}

        async def until(cond) -> None:  # type: ignore[no-untyped-def]
            for _ in range(50):  # reloads are the app's own (a tick, or this one)
                app.reload()
                await pilot.pause(0.1)
                if cond():
                    return
            raise AssertionError(addresses())

        await until(lambda: sorted(addresses().values()) == ["0:0", "0:1"])
        sb = source.sandboxes["demo-recorded"]
        vm = sb.hypervisor
        assert isinstance(vm, QemuHypervisor)
        lost = next(iter(sb.devices.devices.values()))
        assert lost.drive is not None
        await vm._device_del(f"virtio-{lost.drive.id}")
        await until(lambda: any(v.endswith("not in VM") for v in addresses().values()))
        shown = addresses()
        assert shown[lost.id].endswith("✗ not in VM")
        assert sum(v.endswith("✗ not in VM") for v in shown.values()) == 1
    await source.close()
