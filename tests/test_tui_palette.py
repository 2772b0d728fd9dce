"""The command palette offers what can apply on the view it was opened on: no lifecycle
action the source would refuse up front, every view (findings too), the step-through of a
plan."""

from __future__ import annotations

from kata_console.app import KataConsole
from kata_console.screens.palette import ConsoleCommands
from tests.test_tui_sizes import settle
from tests.test_tui_stepthrough import STEPTHROUGH, plan_app
from tests.test_tui_stepthrough import settle as settle_plan
from tests.tui_support import SIZE, make_app


def titles(app: KataConsole) -> list[str]:
    return [title for title, _, _ in ConsoleCommands(app.screen)._commands()]


async def test_the_palette_hides_actions_the_source_refuses_and_lists_every_view() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.jump_to("sb-web")
        await settle(pilot)
        sb = app.sandbox("sb-web")
        web = sb.container("web") if sb else None
        assert web is not None and web.state == "running"
        shown = titles(app)
        assert "action: stop container sb-web/web" in shown
        for op in ("start", "resume"):  # a running container: refused, so not offered
            title = f"action: {op} container sb-web/web"
            assert title not in shown, shown
        assert "view: findings" in shown
        assert "view: step-through" not in shown  # no plan here


async def test_the_palette_of_a_plan_offers_its_step_through() -> None:
    app, source = plan_app(STEPTHROUGH)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle_plan(pilot)
            assert "view: step-through" in titles(app)
    finally:
        await source.close()
