"""Text that must fit a small pane and stay readable: the step-through's next-step preview
and state strip at 80x24, where the step text is wrapped at readable places, the key that
runs the step keeps its row, and a name is never parted from its state.
"""

from __future__ import annotations

import re

import pytest
from textual.app import App

from kata_console.sources.plan_source import PlanSource
from tests.test_tui_sizes import screen_text
from tests.test_tui_stepthrough import FAILED_START, STEPTHROUGH, plan_app, settle, view
from widgets.breadcrumb import Breadcrumb
from widgets.state_strip import StateStrip
from widgets.status_line import StatusLine
from widgets.step_preview import StepPreview, wrap

CREATE = 'RPC CreateContainer{container_id="c1", exec_id="c1", storages=3, devices=0}'
HOTPLUG = (
    "hotplug block drive-14a03569d26b9496 (virtio-scsi 0:2) file=/var/lib/containerd/"
    "io.containerd.snapshotter.v1.erofs/snapshots/2/layer.erofs ro"
)


def test_wrap_breaks_at_spaces_then_after_punctuation() -> None:
    lines = wrap(CREATE, 31)
    assert all(len(line) <= 31 for line in lines)
    assert "".join(lines).replace(" ", "") == CREATE.replace(" ", "")
    # a break after `{` and `=`, never inside a word such as container_id or "c1"
    assert lines[0] == "RPC CreateContainer{"
    assert all(re.search(r"[\s{=,(/:;.-]$", line) for line in lines[:-1]), lines
    hotplug = wrap(HOTPLUG, 31)
    assert all(len(line) <= 31 for line in hotplug)
    assert "io.containerd.snapshotter.v1." in hotplug and "ofs/" not in "".join(hotplug[:1])
    assert not any(line.endswith("er") for line in hotplug)  # not `...v1.er|ofs`


def test_wrap_cuts_a_word_only_when_nothing_else_fits() -> None:
    assert wrap("a" * 70, 31) == ["a" * 31, "a" * 31, "a" * 8]
    assert wrap("short", 31) == ["short"]
    assert wrap("", 10) == [""]


def preview_lines(app: object) -> list[str]:
    preview = view(app).query_one(StepPreview)  # type: ignore[arg-type]
    region = preview.content_region
    rows = screen_text(app).splitlines()[region.y : region.bottom]  # type: ignore[arg-type]
    return [row[region.x : region.right].rstrip() for row in rows]


async def test_a_held_step_keeps_its_key_hint_at_80x24() -> None:
    app, source = plan_app(STEPTHROUGH)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            # step until a long RPC (CreateContainer) is held
            for _ in range(20):
                if source.progress.held and "CreateContainer" in source.progress.held.text:
                    break
                await pilot.press("space")
                await settle(pilot)
            held = source.progress.held
            assert held is not None and "CreateContainer" in held.text
            lines = preview_lines(app)
            assert lines[0].strip() == "NEXT STEP"
            assert lines[-1].endswith("space/n runs it"), lines
            body = [line.strip() for line in lines[1:-1] if line.strip()]
            # the step text as far as it is shown, in order, split only at break points
            joined = "".join(body).replace(" ", "")
            text = held.text.replace(" ", "")
            if joined.endswith("…"):
                assert text.startswith(joined[:-1])
            else:
                assert joined == text
            assert all(re.search(r"[\s{=,(/:;.-]$", line) for line in body[:-1]), body
    finally:
        await source.close()


async def test_a_failed_plan_shows_its_error_in_the_preview_at_80x24() -> None:
    app, source = plan_app(FAILED_START)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            await pilot.press("c")
            await settle(pilot)
            failed = [op for op in source.progress.ops if op.status == "failed"]
            assert failed and failed[0].error
            preview = view(app).query_one(StepPreview)
            assert preview.phase == "failed"
            assert preview.step == f"op {failed[0].index} {failed[0].op} {failed[0].target}: " + (
                failed[0].error
            )
            shown = " ".join(line.strip() for line in preview_lines(app)[1:])
            assert failed[0].error[:20] in shown  # the engine's words are on screen
    finally:
        await source.close()


async def test_the_state_strip_never_parts_a_name_from_its_state() -> None:
    app, source = plan_app(STEPTHROUGH)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            strip = view(app).query_one(StateStrip)
            region = strip.content_region
            rows = screen_text(app).splitlines()[region.y : region.bottom]
            lines = [row[region.x : region.right].strip() for row in rows]
            assert any(re.fullmatch(r"agent \w+", line) for line in lines), lines
            assert not any(line.endswith(("agent", "sandbox")) for line in lines), lines
            assert isinstance(source, PlanSource)
    finally:
        await source.close()


async def test_enter_on_an_op_of_a_deleted_sandbox_says_it_was_deleted() -> None:
    app, source = plan_app(STEPTHROUGH)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            await pilot.press("c")
            await settle(pilot)
            assert source.progress.sandbox_state == "deleted"
            screen = view(app)
            screen.action_focus_ops()
            await pilot.press("home", "enter")
            await pilot.pause()
            line = screen.query_one(StatusLine)
            assert line.message == f"sandbox {source.plan.sandbox.id} was deleted by the plan"
    finally:
        await source.close()


@pytest.mark.parametrize("width", [80, 120, 200])
async def test_the_breadcrumb_separates_the_vm_marker_from_the_source(width: int) -> None:
    class One(App[None]):
        def compose(self):  # type: ignore[no-untyped-def]
            crumb = Breadcrumb()
            crumb.path = ("sandboxes",)
            crumb.demo = True
            crumb.marker = ("VM: QEMU 7.2, paused; guest: simulated agent", "QEMU paused")
            crumb.source = "demo"
            yield crumb

    app = One()
    async with app.run_test(size=(width, 3)):
        text = str(app.query_one(Breadcrumb).render())
        assert "agent source" not in text and "paused source" not in text, text
        assert "· source: demo" in text or "source" not in text, text  # or no room for it
        if width >= 120:
            assert "· source: demo" in text, text
