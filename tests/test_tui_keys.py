"""Keys that do what they say: the step-through's plan keys, every listed key handled,
the palette, keymap checks, type-ahead, saving logs, the config file, slow motion.

Pilot flows on the fixture source (frozen clock) and on plan sources with in-process
agents; assertions are on app state, never on pixels.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from kata_console.app import KataConsole
from kata_console.screens.confirm import ConfirmScreen
from kata_console.screens.stepthrough import StepThroughScreen
from tests.test_tui_stepthrough import STEPTHROUGH, plan_app, settle, step, until
from tests.tui_support import SIZE, make_app
from widgets.device_table import DeviceTable
from widgets.log_pane import LogPane
from widgets.log_view import LogView
from widgets.op_list import OpList
from widgets.prompt_bar import PromptBar
from widgets.resource_table import ResourceTable
from widgets.step_preview import StepPreview
from widgets.step_timeline import StepTimeline

#: the plan's own actions, as the step-through names them
PLAN_ACTIONS = ("step", "continue", "pause", "abort")


def _focus(screen: StepThroughScreen, where: str) -> None:
    if where == "logs":
        screen.query_one(LogPane).view.focus()
    elif where == "ops":
        screen.query_one(OpList).focus()
    else:
        screen.query_one(StepTimeline).focus()


# ---------------------------------------------------------------------- step-through


async def test_plan_keys_step_the_plan_wherever_focus_is() -> None:
    app, source = plan_app(STEPTHROUGH)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, StepThroughScreen)
            pane = screen.query_one(LogPane)
            for where in ("logs", "ops", "timeline", "logs"):
                _focus(screen, where)
                await pilot.pause()
                before = len(source.progress.steps)
                await step(pilot, "n")  # not the log pane's "next match"
                assert len(source.progress.steps) == before + 1, where
                _focus(screen, where)
                await step(pilot, "space")
                assert len(source.progress.steps) == before + 2, where
            # the plan's pause is dimmed while holding: `p` still does not pause the view
            _focus(screen, "logs")
            await pilot.pause()
            await pilot.press("p")
            assert not pane.paused
            await pilot.press("a")
            assert isinstance(app.screen, ConfirmScreen)
            await pilot.press("n")
            assert app.screen is screen and source.running
            # a find prompt in the log pane takes the letters as text
            _focus(screen, "logs")
            await pilot.pause()
            before = len(source.progress.steps)
            await pilot.press("slash", "n", "p", "space", "c")
            assert screen.query_one("#log-prompt", PromptBar).value == "np c"
            assert len(source.progress.steps) == before and source.bus.stepper.holding
            await pilot.press("escape")
    finally:
        await source.close()


def slow_plan(tmp_path: Path) -> Path:
    """A plan whose first step (start VM) takes a minute: it is still running while the
    test presses continue and pause."""
    plan = json.loads(STEPTHROUGH.read_text())
    plan["sandbox"]["host"] = str(STEPTHROUGH.parent / plan["sandbox"]["host"])
    fault = {"op": "inject_fault", "target": "hypervisor", "method": "start_vm"}
    plan["ops"] = [{**fault, "error": None, "delay": 60}, *plan["ops"][:2]]
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(plan))
    return path


async def test_continue_and_pause_wherever_focus_is(tmp_path: Path) -> None:
    app, source = plan_app(slow_plan(tmp_path))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, StepThroughScreen)
            pane = screen.query_one(LogPane)
            for where in ("logs", "ops", "timeline", "logs"):
                _focus(screen, where)
                await pilot.pause()
                await pilot.press("c")
                assert not source.bus.stepper.holding, where
                await pilot.press("p")  # not the log pane's "pause the view"
                assert source.bus.stepper.holding, where
                assert not pane.paused, where
            assert source.running and not source.progress.finished
    finally:
        await source.close()


async def test_step_through_footer_shows_the_plan_keys_at_80_columns() -> None:
    app, source = plan_app(STEPTHROUGH)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, StepThroughScreen)
            for where in ("timeline", "ops", "logs"):
                _focus(screen, where)
                await pilot.pause()
                await pilot.pause()
                footer = screen.query_one(Footer)
                keys = list(footer.query(FooterKey))
                palette = [k for k in keys if k.has_class("-command-palette")]
                limit = palette[0].region.x if palette else 80
                shown = {k.action: k for k in keys if not k.has_class("-command-palette")}
                for action in PLAN_ACTIONS:
                    assert action in shown, (where, action, list(shown))
                    region = shown[action].region
                    assert region.width > 0 and region.right <= limit, (where, action, region)
    finally:
        await source.close()


async def test_log_pane_keys_taken_by_the_plan_are_not_listed_there() -> None:
    """On the step-through the log pane does not offer `n`/`p`: `?` and the footer list
    only what the key does there (step, pause the plan)."""
    from kata_console.screens.help import HelpScreen

    app, source = plan_app(STEPTHROUGH)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot)
            screen = app.screen
            assert isinstance(screen, StepThroughScreen)
            _focus(screen, "logs")
            await pilot.pause()
            await pilot.press("question_mark")
            help_screen = app.screen
            assert isinstance(help_screen, HelpScreen)
            by_key = {}
            for key, _what, bid, _where, _enabled in help_screen.rows:
                by_key.setdefault(key, []).append(bid)
            assert by_key["n"] == ["stepthrough.step"]
            assert by_key["p"] == ["stepthrough.pause"]
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen)
    finally:
        await source.close()


# ---------------------------------------------------------------------- --keymap checks


@pytest.mark.parametrize(
    ("keymap", "says"),
    [
        ({"container.stop": "bogus"}, "container.stop: 'bogus' is not a key"),
        ({"container.stop": "ctrl+X"}, "container.stop: 'ctrl+X' is not a key"),
        ({"container.stop": "q"}, "container.stop: 'q' would take away quit (app.quit)"),
        (
            {"app.quit": "x"},
            "app.quit: 'x' is already container.stop's key in ContainerScreen, which runs "
            "first: quit would have no key there\n",
        ),
        (
            {"nav.back": "x"},
            "nav.back: 'x' is already container.stop's key in ContainerScreen, which runs "
            "first: the way back would have no key there\n",
        ),
        ({"sandbox.devices": "escape"}, "sandbox.devices: 'escape' would take away the way back"),
        ({"prompt.cancel": "z"}, "prompt.cancel: 'z' would be typed into the prompt"),
    ],
)
def test_keymap_refuses_unknown_keys_and_lock_outs(
    keymap: dict[str, str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from kata_console.cli import tui

    path = tmp_path / "keys.json"
    path.write_text(json.dumps(keymap))
    assert tui.main(["--keymap", str(path), "--source", "demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"kata-console: error: {path}: {says}")


def test_keymap_key_names_are_normalized(tmp_path: Path) -> None:
    from kata_console.cli import tui

    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"nav.help": "?,F1", "container.stop": "alt+ctrl+x"}))
    with pytest.raises(ValueError, match="F1"):
        tui.load_keymap(str(path))
    path.write_text(json.dumps({"nav.help": "?,f1", "container.stop": "ctrl+alt+x"}))
    keymap = tui.load_keymap(str(path))
    assert keymap == {"nav.help": "question_mark,f1", "container.stop": "alt+ctrl+x"}
    tui.check_keymap(keymap, str(path))  # nothing taken away: accepted


# ---------------------------------------------------------------------- type-ahead


def _going(app: KataConsole, where: str) -> Callable[[], Awaitable[None]]:
    async def enter() -> None:
        while len(app.screen_stack) > 1:
            app.pop_screen()
        if where == "stepthrough":
            app.open_stepthrough()
        elif where != "sandboxes":
            app.jump_to(where)

    return enter


def _type_burst(app: KataConsole, text: str) -> None:
    """Keys as a terminal sends them: all queued at once, no wait between them."""
    from textual import events

    names = {"/": "slash", ":": "colon"}
    for char in text:
        event = events.Key(names.get(char, char), char)
        event.set_sender(app)
        app._driver.send_message(event)


@pytest.mark.parametrize(
    ("where", "focus", "typed"),
    [
        ("sandboxes", "#sandboxes", "/sbx"),  # `s` and `x` are start/stop on the table
        ("sandboxes", "#sandboxes", ":sb-w"),
        ("sb-web", "LogView", "/xgs"),  # `x`, `g` and `s` are keys of the view behind
    ],
)
async def test_keys_typed_after_slash_go_to_the_prompt(where: str, focus: str, typed: str) -> None:
    """`/sbx` typed in one burst (a fast typist, a paste): every key after the slash is
    queued before the prompt opens, and all of them belong to the prompt."""
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _going(app, where)()
        await pilot.pause()
        app.screen.query_one(focus).focus()
        await pilot.pause()
        before = app.screen
        _type_burst(app, typed)
        await pilot.pause()
        bars = [bar for bar in app.screen.query(PromptBar) if bar.is_open]
        assert [bar.value for bar in bars] == [typed[1:]]
        assert app.screen is before or typed[0] == ":"
        assert not isinstance(app.screen, ConfirmScreen)


# ---------------------------------------------------------------------- listed keys, one by one


async def test_l_on_the_sandbox_screen_focuses_its_logs() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _going(app, "sb-web")()
        await pilot.pause()
        await pilot.press("l")
        await pilot.pause()
        assert isinstance(app.focused, LogView)
        assert app.focused.parent is app.screen.query_one(LogPane)


async def test_d_on_the_container_screen_focuses_its_devices() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _going(app, "sb-web/web")()
        await pilot.pause()
        await pilot.press("d")
        await pilot.pause()
        assert app.focused is app.screen.query_one("#container-devices")


@pytest.mark.parametrize(
    ("where", "table"), [("sb-web", "#devices"), ("sb-web/web", "#container-devices")]
)
async def test_enter_on_a_device_row_opens_the_device(where: str, table: str) -> None:
    from kata_console.screens.device import DeviceScreen

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _going(app, where)()
        await pilot.pause()
        devices = app.screen.query_one(table, DeviceTable)
        devices.focus()
        await pilot.press("down")
        key = devices.selected_key
        await pilot.press("enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DeviceScreen) and screen.device.id == key
        sb = app.sandbox("sb-web")
        assert sb is not None
        assert screen.users == [c.id for c in sb.containers if key in c.devices] != []
        lines = [
            strip.text
            for strip in screen.query_one("#device-facts").render_lines(
                screen.query_one("#device-facts").region.reset_offset
            )
        ]
        assert screen.device.host_path in "".join("".join(lines).split())  # whole, folded
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.query_one(table) is devices


async def test_home_and_end_go_to_the_first_and_last_row() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#sandboxes", ResourceTable)
        table.focus()
        assert table.row_count > 1
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("home")
        assert table.cursor_row == 0


# ---------------------------------------------------------------------- the palette


def _palette(app: KataConsole) -> dict[str, tuple[object, str]]:
    from kata_console.screens.palette import ConsoleCommands

    provider = ConsoleCommands(app.screen)
    return {title: (run, help.plain) for title, run, help in provider._commands()}


@pytest.mark.parametrize(
    ("where", "title", "op"),
    [
        ("sandboxes", "action: stop sandbox sb-web", "stop_sandbox"),
        ("sb-web", "action: stop container sb-web/web", "stop_container"),
        ("sb-web/api", "action: stop container sb-web/api", "stop_container"),
    ],
)
async def test_palette_actions_act_on_what_they_name(where: str, title: str, op: str) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _going(app, where)()
        await pilot.pause()
        entries = _palette(app)
        actions = [t for t in entries if t.startswith("action: ")]
        assert title in actions and all(t.split()[2] == title.split()[2] for t in actions)
        run, help_text = entries[title]
        assert help_text.endswith("[x]")  # the key as text, not eaten as markup
        run()  # type: ignore[operator]
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        asked = app._last_request[0]
        assert asked is not None and asked.op == op and asked.target == title.split()[-1]


async def test_palette_includes_create_and_follows_the_keymap() -> None:
    app = make_app()
    app.set_keymap({"container.stop": "ctrl+x", "nav.logs": "f5"})
    async with app.run_test(size=SIZE) as pilot:
        await _going(app, "sb-batch")()  # its container was never created: create applies
        await pilot.pause()
        assert _palette(app)["action: create container sb-batch/batch"][1].endswith("[c]")
        await _going(app, "sb-web")()
        await pilot.pause()
        entries = _palette(app)
        assert "action: create container sb-web/web" not in entries  # it exists
        assert entries["action: stop container sb-web/web"][1].endswith("[^x]")
        assert entries["view: logs"][1].endswith("[f5 or :logs]")


async def test_palette_hides_actions_that_cannot_apply() -> None:
    from tests.tui_support import read_only_app

    app = read_only_app()
    async with app.run_test(size=SIZE) as pilot:
        await _going(app, "sb-web")()
        await pilot.pause()
        assert not [t for t in _palette(app) if t.startswith("action: ")]  # refused here
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await _going(app, "chains")()
        await pilot.pause()
        assert not [t for t in _palette(app) if t.startswith("action: ")]  # nothing to act on


# ---------------------------------------------------------------------- saving a log pane


async def _save_from_logs(pilot: Pilot[None], app: KataConsole, answer: str | None) -> PromptBar:
    await _going(app, "sb-web")()
    await pilot.pause()
    app.screen.query_one(LogPane).view.focus()
    await pilot.press("ctrl+s")
    await pilot.pause()
    bar = app.screen.query_one("#log-prompt", PromptBar)
    assert bar.is_open and app.focused is bar
    if answer is not None:
        bar.value = answer
        await pilot.press("enter")
        await pilot.pause()
    return bar


def _status(app: KataConsole) -> str:
    from widgets.status_line import StatusLine

    return app.screen.query_one(StatusLine).message


async def test_ctrl_s_offers_a_path_writes_it_and_says_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no Downloads: a root shell's case
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        bar = await _save_from_logs(pilot, app, None)
        assert bar.value == str(tmp_path / "kata-console-logs.txt")
        await pilot.press("enter")
        await pilot.pause()
        saved = tmp_path / "kata-console-logs.txt"
        written = saved.read_text().splitlines()
        pane = app.screen.query_one(LogPane)
        assert written and set(written) <= set(pane.buffer.text_of().splitlines())
        assert _status(app) == f"saved {len(written)} lines to {saved}"


async def test_ctrl_s_never_overwrites_silently(tmp_path: Path) -> None:
    target = tmp_path / "mine.txt"
    target.write_text("keep me\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        bar = await _save_from_logs(pilot, app, str(target))
        assert bar.is_open and bar.kind == "overwrite" and target.read_text() == "keep me\n"
        assert "exists" in _status(app)
        await pilot.press("escape")
        await pilot.pause()
        assert target.read_text() == "keep me\n"
        await _save_from_logs(pilot, app, str(target))
        await pilot.press("enter")  # the second Enter replaces it
        await pilot.pause()
        assert _status(app).startswith("saved ") and _status(app).endswith(f" to {target}")
        written = target.read_text().splitlines()
        assert written and set(written) <= set(
            app.screen.query_one(LogPane).buffer.text_of().splitlines()
        )


async def test_ctrl_s_says_why_it_could_not_save(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        missing = tmp_path / "no-such-dir" / "logs.txt"
        await _save_from_logs(pilot, app, str(missing))
        assert _status(app) == f"not saved to {missing}: No such file or directory"
        assert not missing.exists()


# ---------------------------------------------------------------------- the settings file


async def test_a_theme_chosen_while_running_is_remembered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kata_console.config import config_path, load_config, remember_theme

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    path = config_path()
    assert path == tmp_path / "kata-console" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps({"refresh": 5, "keymap": {"nav.help": "f1"}}))
    app = make_app(remember_theme=remember_theme)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert load_config().get("theme") is None  # starting is no choice
        app.theme = "nord"  # what the palette's theme picker does
        await pilot.pause()
    assert load_config() == {"refresh": 5, "keymap": {"nav.help": "f1"}, "theme": "nord"}


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "not JSON settings (line 1"),
        ('{"colour": "red"}', "unknown setting 'colour'"),
        ('{"theme": 3}', "theme must be a theme name, not 3"),
        ('{"refresh": -1}', "refresh '-1.0': the refresh interval is a number of seconds"),
        ('{"keymap": {"container.stop": "q"}}', "container.stop: 'q' would take away quit"),
        ('{"theme": "no-such-theme"}', "unknown theme 'no-such-theme'"),
    ],
)
def test_a_bad_settings_file_is_one_line_and_exit_2(
    content: str,
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from kata_console.cli import tui

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "kata-console").mkdir()
    (tmp_path / "kata-console" / "config.json").write_text(content)
    assert tui.main(["--source", "demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and says in err, err


# ---------------------------------------------------------------------- slow motion


async def test_c_in_slow_motion_runs_one_step_per_delay() -> None:
    app, source = plan_app(STEPTHROUGH)
    app.step_delay = 0.3
    try:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            stepper = source.bus.stepper
            before = len(source.progress.steps)
            await pilot.press("c")
            await pilot.pause()
            assert stepper.holding  # not freely: each step still waits for its turn
            await until(pilot, lambda: len(source.progress.steps) >= before + 2)
            assert stepper.holding and source.running
            # the preview says the step runs by itself, not that a key runs it
            await until(pilot, lambda: source.progress.held is not None)
            screen = app.screen
            assert isinstance(screen, StepThroughScreen)
            screen.sync()
            detail = screen.query_one(StepPreview).detail
            assert "runs in 0.3s" in detail and "space/n" not in detail, detail
            await pilot.press("p")  # pause ends slow motion: the plan waits again
            await settle(pilot)
            held = len(source.progress.steps)
            await pilot.pause(0.9)
            assert len(source.progress.steps) <= held + 1  # a step already released lands
    finally:
        await source.close()
