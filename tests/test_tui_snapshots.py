"""SVG snapshots of every console view and the key states (pytest-textual-snapshot).

Deterministic by construction: the fixture source has a frozen clock and fixed ids,
tests/tui_support.make_app fixes theme, animations and cursor blink, and every test
uses the same terminal size. Regenerate with `pytest --snapshot-update` on the pinned
textual/rich versions and review the SVGs (tests/__snapshots__/test_tui_snapshots/).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from textual.pilot import Pilot

from tests.tui_support import SIZE, make_app, read_only_app

RunBefore = Callable[[Pilot[None]], Awaitable[None]]


def jump(target: str, *keys: str) -> RunBefore:
    """Open `target` the way `:` does, then press keys; settle before the screenshot."""

    async def run_before(pilot: Pilot[None]) -> None:
        await pilot.pause()
        pilot.app.jump_to(target)  # type: ignore[attr-defined]
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()

    return run_before


def test_sandboxes_list(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=jump("sandboxes"))


def test_sandboxes_filter_active(snap_compare) -> None:
    keys = ("slash", *"legacy", "enter")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=jump("sandboxes", *keys))


def test_sandbox_detail(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=jump("sb-web"))


def test_container_clean_chain(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=jump("sb-web/web"))


def test_container_unsupported_fsmeta_layer(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=jump("sb-batch/batch"))


def test_container_deleted_backing_file(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=jump("sb-legacy/legacy"))


def test_logs_find_highlights(snap_compare) -> None:
    keys = ("slash", *"healthz", "enter", "n")
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=jump("logs", *keys))


def test_help_lists_keys_of_the_view(snap_compare) -> None:
    assert snap_compare(
        make_app(), terminal_size=SIZE, run_before=jump("sb-web/web", "question_mark")
    )


def test_confirmation_modal_shows_exact_operation(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=jump("sb-web/web", "x"))


def test_read_only_footer(snap_compare) -> None:
    assert snap_compare(read_only_app(), terminal_size=SIZE, run_before=jump("sb-web"))


def test_chains_screen(snap_compare) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=jump("chains"))
