"""The sandbox screen's container keys say what they act on, and `c` is offered only
where a create can apply.

The sandbox screen is titled by the sandbox while `s`, `x` and `ctrl+d` act on the
selected container: their labels must name it, at 80 columns too. A create of a container
the engine holds could only fail (`already exists`), so it is not offered there.
"""

from __future__ import annotations

from kata_console.app import KataConsole
from kata_console.screens.help import key_entries
from kata_console.screens.sandbox import SandboxScreen
from kata_console.sources.model import ContainerView
from tests.keypicture import footer_keys
from tests.tui_support import SIZE, make_app, make_source
from widgets.key_footer import FooterKey
from widgets.resource_table import ResourceTable

SMALL = (80, 24)


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
