"""While a text prompt is open the footer lists only the keys that apply to it.

Every other key the view lists would be typed into the prompt, so listing them (`n Next`,
`^s Save`, the whole view's row under `:`) tells the operator something false.
"""

from __future__ import annotations

import pytest
from textual.widgets import Input
from textual.widgets._footer import FooterKey

from kata_console.app import KataConsole
from tests.test_tui_sizes import settle
from tests.tui_support import make_app
from widgets.key_footer import KeyFooter

#: where -> (`:` target, keys that open the prompt)
PROMPTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "filter on the sandboxes": ("sandboxes", ("slash",)),
    "find in a log pane": ("logs", ("slash",)),
    "save a log pane": ("logs", ("ctrl+s",)),
    "export a sandbox": ("sb-web", ("ctrl+e",)),
    "find in describe": ("sb-web", ("D", "slash")),
    "jump": ("sandboxes", ("colon",)),
}


def footer_keys(app: KataConsole) -> list[str]:
    """The descriptions of the keys the top screen's footer shows."""
    footer = app.screen.query(KeyFooter).last()
    return [k.description for k in footer.query(FooterKey) if k.display]


@pytest.mark.parametrize("where", list(PROMPTS))
@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_an_open_prompt_lists_only_its_own_keys(where: str, size: tuple[int, int]) -> None:
    target, keys = PROMPTS[where]
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.jump_to(target)
        await settle(pilot)
        await pilot.press(*keys[:-1])
        await settle(pilot)
        before = footer_keys(app)
        await pilot.press(keys[-1])
        await settle(pilot)
        assert isinstance(app.screen.focused, Input), app.screen.focused
        shown = footer_keys(app)
        assert "Cancel" in shown, shown
        assert not {"Quit", "Jump", "Help", "Find", "Next", "Save", "Filter"} & set(shown), shown
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen.focused, Input)
        assert footer_keys(app) == before  # the view's keys are back


async def test_a_table_with_no_row_shown_does_not_offer_enter() -> None:
    """Enter opens the row under the cursor: with every row filtered out there is none."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert "Open" in footer_keys(app)
        await pilot.press("slash", *"no-such-sandbox", "enter")
        await settle(pilot)
        assert app.screen.query_one("#sandboxes").row_count == 0
        assert "Open" not in footer_keys(app)
        await pilot.press("escape")  # clears the filter: the rows and Enter are back
        await settle(pilot)
        assert "Open" in footer_keys(app)


@pytest.mark.parametrize(
    ("keys", "own", "size"),
    [
        (("question_mark",), {"Close"}, (80, 24)),
        (("x",), {"Run it", "Cancel"}, (80, 24)),
        (("x",), {"Run it", "Cancel"}, (120, 40)),
    ],
)
async def test_a_modal_footer_lists_the_modal_keys_not_the_view_behind(
    keys: tuple[str, ...], own: set[str], size: tuple[int, int]
) -> None:
    """Help and the confirmation take every key while open: the view's keys (Stop, Quit)
    listed under them would do nothing."""
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press(*keys)
        await settle(pilot)
        shown = footer_keys(app)
        assert set(shown) == own, shown
