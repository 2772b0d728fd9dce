"""The sandbox screen's container keys say what they act on, `c` is offered only where a
create can apply, and the device modal takes its device's keys with a footer of its own.

The sandbox screen is titled by the sandbox while `s`, `x` and `ctrl+d` act on the
selected container: their labels must name it, at 80 columns too. A create of a container
the engine holds could only fail (`already exists`), so it is not offered there.
"""

from __future__ import annotations

from itertools import takewhile

from rich.console import Console

from kata_console.app import KataConsole
from kata_console.screens.describe import DescribeScreen
from kata_console.screens.device import DeviceScreen, device_facts
from kata_console.screens.help import key_entries
from kata_console.screens.sandbox import SandboxScreen
from kata_console.sources.model import ContainerView, DeviceView
from tests.keypicture import footer_keys
from tests.test_tui_findings import BROKEN
from tests.test_tui_findings import _app as recorded_host
from tests.tui_support import SIZE, make_app, make_source
from widgets.key_footer import FooterKey
from widgets.resource_table import ResourceTable

SMALL = (80, 24)
PATH = "/var/lib/containerd/io.containerd.snapshotter.v1.erofs/snapshots/2/layer.erofs"


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        await pilot.pause()


def _labels(app: KataConsole) -> dict[str, str]:
    """action -> label of every key the footer shows."""
    return {
        k.action: k.description for k in app.screen.query(FooterKey) if k.display and k.region.width
    }


async def test_the_container_keys_of_the_sandbox_screen_name_the_container() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        app.jump_to("sb-web")
        await _settle(pilot)
        assert isinstance(app.screen, SandboxScreen)
        shown = _labels(app)
        # whole keys at 80 columns: start, stop and delete of the selected container
        assert {a: shown.get(a) for a in ("op_start", "op_stop", "op_delete")} == {
            "op_start": "Start ctr",
            "op_stop": "Stop ctr",
            "op_delete": "Delete ctr",
        }, shown
        rows = {e.binding_id: e.description for e in key_entries(app.screen)}
        assert rows["container.stop"] == "Stop the selected container"
        assert rows["container.kill"] == "Kill the selected container"
        assert rows["nav.jump"] == "Jump"  # a key without a long text keeps its label


async def test_the_sandboxes_and_container_screens_keep_the_verb_alone() -> None:
    """Their rows are what the keys act on: the verb is enough."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        assert _labels(app)["op_stop"] == "Stop"
        app.jump_to("sb-web/web")
        await _settle(pilot)
        assert _labels(app)["op_stop"] == "Stop"


async def test_create_is_offered_only_for_a_container_that_was_never_created() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-web")
        await _settle(pilot)
        screen = app.screen
        assert screen.check_action("op_create", ()) is False  # web exists
        assert "c" not in dict(footer_keys(screen))
        assert "container.create" not in {e.binding_id for e in key_entries(screen)}
        await pilot.press("c")
        await _settle(pilot)
        assert app.screen is screen  # no confirmation of a create that could only fail
        app.jump_to("sb-batch")  # its container's create failed: a create can apply
        await _settle(pilot)
        batch = app.screen
        assert isinstance(batch, SandboxScreen)
        assert batch.check_action("op_create", ()) is True
        assert dict(footer_keys(batch)).get("c") is True
        app.jump_to("sb-web/web")
        await _settle(pilot)
        assert app.screen.check_action("op_create", ()) is False
        assert "c" not in dict(footer_keys(app.screen))


async def test_the_footer_follows_the_selected_row() -> None:
    """`c` comes and goes as the cursor moves between a container that exists and one
    whose create failed (a row the engine holds no container for), in one sandbox."""
    source = make_source()
    sb = next(s for s in source._sandboxes if s.id == "sb-web")
    sb.containers.append(ContainerView("new", "sb-web", "", "erofs", kata_error="refused"))
    app = make_app(source)
    async with app.run_test(size=SIZE) as pilot:
        app.jump_to("sb-web")
        await _settle(pilot)
        screen = app.screen
        table = screen.query_one("#containers", ResourceTable)
        table.focus()
        await pilot.press("home")
        await _settle(pilot)
        assert "c" not in dict(footer_keys(screen))
        await pilot.press("end")
        await _settle(pilot)
        assert table.selected_key == "new"
        assert dict(footer_keys(screen)).get("c") is True
        await pilot.press("home")
        await _settle(pilot)
        assert "c" not in dict(footer_keys(screen))


def _lines(dev: DeviceView, width: int) -> list[str]:
    console = Console(width=width, record=True, color_system=None)
    console.print(device_facts(dev, ["web"]))
    return console.export_text().splitlines()


def test_the_device_host_path_breaks_after_a_slash() -> None:
    dev = DeviceView("d1", PATH, "block", 2, 2, 0, "0:0", True)
    lines = _lines(dev, 60)
    at = next(i for i, line in enumerate(lines) if line.startswith("host path"))
    rest = takewhile(lambda line: not line[:14].strip(), lines[at + 1 :])  # its own lines
    pieces = [line[14:].rstrip() for line in (lines[at], *rest)]
    assert "".join(pieces) == PATH
    assert len(pieces) > 1 and all(p.endswith("/") for p in pieces[:-1]), pieces


async def _device_modal(app: KataConsole, pilot) -> DeviceScreen:  # type: ignore[no-untyped-def]
    app.jump_to("sb-web")
    await _settle(pilot)
    await pilot.press("d")
    await pilot.press("enter")
    await _settle(pilot)
    modal = app.screen
    assert isinstance(modal, DeviceScreen)
    return modal


async def test_the_device_modal_copies_its_host_path_and_describes_it() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        modal = await _device_modal(app, pilot)
        await pilot.press("y")
        await _settle(pilot)
        assert app.clipboard == modal.device.host_path != ""
        status = modal.query_one("#device-status")
        assert status.display and "copied backing file" in status.message  # type: ignore[attr-defined]
        await pilot.press("D")
        await _settle(pilot)
        shown = app.screen
        assert isinstance(shown, DescribeScreen)
        assert shown.crumbs[-2:] == (f"device {modal.device.id}", "describe")
        await pilot.press("escape")
        await _settle(pilot)
        assert isinstance(app.screen, SandboxScreen)


async def test_the_device_modal_footer_lists_its_own_keys() -> None:
    app = make_app()
    async with app.run_test(size=SMALL) as pilot:
        modal = await _device_modal(app, pilot)
        keys = [k for k, _ in footer_keys(modal)]
        assert keys[:3] == ["y", "D", "escape"], keys
        assert not {"s", "x", "ctrl+d", "d"} & set(keys)


async def test_the_device_modal_of_a_host_shows_its_loop_device() -> None:
    app = recorded_host(BROKEN)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await _settle(pilot)
        app.jump_to("sb-batch")
        await _settle(pilot)
        sb = app.sandbox("sb-batch")
        assert sb is not None
        app.open_device(sb, sb.devices[0].id)
        await _settle(pilot)
        modal = app.screen
        assert isinstance(modal, DeviceScreen)
        assert modal.device.host_device == "loop0 7:0"
        text = "\n".join(_lines(modal.device, 96))
        assert "host device   loop0 7:0" in text, text
