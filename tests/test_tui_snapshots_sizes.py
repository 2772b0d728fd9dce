"""The main views at the smallest common terminal (80x24) and a large one (200x50), next
to the 120x40 snapshots of tests/test_tui_snapshots.py: the compact layouts (facts strip,
folded panes, shrunk step-through, fitted modals and footer) and the wide ones.

Same determinism as the 120x40 set (tests/tui_support.make_app, frozen clocks). Review
the SVGs under tests/__snapshots__/test_tui_snapshots_sizes/ after `--snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.app import App

from tests.test_tui_snapshots import RunBefore, jump
from tests.test_tui_stepthrough import STEPTHROUGH, plan_app, steps_then_settle
from tests.tui_support import make_app

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((200, 50), id="200x50")]

#: view -> (app factory, what to do before the screenshot)
VIEWS: dict[str, tuple[Callable[[], App[None]], RunBefore]] = {
    "sandboxes": (make_app, jump("sandboxes")),
    "sandbox": (make_app, jump("sb-web")),
    "container": (make_app, jump("sb-web/web")),
    "container-refused-layer": (make_app, jump("sb-batch/batch")),
    "chains": (make_app, jump("chains")),
    "logs": (make_app, jump("logs")),
    "help": (make_app, jump("sb-web/web", "question_mark")),
    "confirm": (make_app, jump("sb-web/web", "x")),
    "describe": (make_app, jump("sb-web", "D")),
    "device": (make_app, jump("sb-web", "d", "enter")),
    "jump": (make_app, jump("sandboxes", "colon", *"sb-w")),
    "stepthrough": (lambda: plan_app(STEPTHROUGH)[0], steps_then_settle("space", "space")),
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("view", list(VIEWS))
def test_view_at_size(snap_compare, view: str, size: tuple[int, int]) -> None:
    factory, run_before = VIEWS[view]
    assert snap_compare(factory(), terminal_size=size, run_before=run_before)
