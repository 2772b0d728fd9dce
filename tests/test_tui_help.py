"""`?` at 80 columns: descriptions keep their room, and ctrl+c says what it does.

Pilot on the fixture source; the help's text is rendered at the width it has on screen
and read as lines, the rows are read from the help screen itself.
"""

from __future__ import annotations

from rich.console import Console
from textual.widgets import Static

from kata_console.screens.help import HelpScreen
from tests.tui_support import make_app


async def _help_lines(width: int, height: int) -> tuple[HelpScreen, list[str]]:
    app = make_app()
    async with app.run_test(size=(width, height)) as pilot:
        app.jump_to("sb-web/web")
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        shown = app.screen
        assert isinstance(shown, HelpScreen)
        static = shown.query_one(Static)
        console = Console(width=static.size.width, record=True, color_system=None)
        console.print(shown._table())
        return shown, console.export_text().splitlines()


async def test_help_descriptions_are_not_squeezed_at_80_columns() -> None:
    """Textual's built-in keys have no binding id: no empty id column takes their room,
    so `Focus Previous` and `Copy selected text` stay on one line at 80x24."""
    _, lines = await _help_lines(80, 24)
    for key, what in (("shift+tab", "Focus Previous"), ("super+c", "Copy selected text")):
        row = next(line for line in lines if line.startswith(key))
        assert what in row, (key, row)


async def test_help_says_ctrl_c_cancels_the_running_operation() -> None:
    """ctrl+c copies a selection when there is one (Textual's screen binding) and
    otherwise reaches the console's: it cancels the running operation. One row says both,
    under the id a keymap moves."""
    shown, lines = await _help_lines(120, 40)
    rows = [row for row in shown.rows if row[0] == "^c"]
    assert len(rows) == 1, rows
    _key, what, bid, _where, enabled = rows[0]
    assert bid == "app.cancel_op" and enabled
    assert what.startswith("Cancel the running operation") and "copy" in what
    assert any(line.startswith("^c") and "Cancel the running operation" in line for line in lines)


async def test_help_lists_every_key_of_another_panes_binding() -> None:
    """The log pane's pause and find-next have two keys each (`p` / `Z`, `n` / `f3`):
    `?` on a view whose log pane is not focused lists both, as they work there."""
    shown, _ = await _help_lines(120, 40)
    keys: dict[str, set[str]] = {}
    for key, _what, bid, where, _enabled in shown.rows:
        if where == "LogPane (when focused)":
            keys.setdefault(bid, set()).add(key)
    assert keys["log.pause"] == {"p", "Z"}, keys
    assert keys["log.next"] == {"n", "f3"} and keys["log.previous"] == {"N", "shift+f3"}
