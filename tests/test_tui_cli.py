"""`kata-console` (the console entry): source selection and keymap files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kata_console.cli import tui
from tests.tui_support import SIZE, make_app


def test_auto_source_is_host_only_when_kata_sandboxes_exist(tmp_path: Path) -> None:
    go, rs = tmp_path / "vc-sbs", tmp_path / "kata"
    go.mkdir()
    assert tui.kata_sandboxes_present([str(go), str(rs)]) is False
    (go / "persist.json").write_text("{}")  # a file is not a sandbox directory
    assert tui.kata_sandboxes_present([str(go), str(rs)]) is False
    (rs / "4d2393b41c79").mkdir(parents=True)
    assert tui.kata_sandboxes_present([str(go), str(rs)]) is True


def test_keymap_file_validation(tmp_path: Path) -> None:
    good = tmp_path / "keys.json"
    good.write_text(json.dumps({"container.stop": "ctrl+x"}))
    assert tui.load_keymap(str(good)) == {"container.stop": "ctrl+x"}
    for content in ("[1]", '{"container.stop": 3}', "not json"):
        bad = tmp_path / "bad.json"
        bad.write_text(content)
        with pytest.raises(ValueError, match=r"bad\.json"):
            tui.load_keymap(str(bad))
    with pytest.raises(ValueError, match="no such keymap file"):
        tui.load_keymap(str(tmp_path / "missing.json"))


def test_bad_keymap_exits_2_before_the_console_starts(tmp_path: Path, capsys) -> None:
    assert tui.main(["--keymap", str(tmp_path / "missing.json")]) == 2
    assert "no such keymap file" in capsys.readouterr().err


async def test_a_keymap_rebinds_by_binding_id() -> None:
    app = make_app()
    app.set_keymap({"nav.help": "f1"})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"


def test_keymap_keys_and_ids_are_checked(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"app.quit": "ctrl+shift+alt+"}))
    assert tui.main(["--keymap", str(broken)]) == 2
    assert "is not a key" in capsys.readouterr().err
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"contaner.stop": "x"}))
    assert tui.main(["--keymap", str(typo)]) == 2
    assert "unknown binding id(s): contaner.stop" in capsys.readouterr().err
    assert {"container.stop", "log.find", "stepthrough.step", "nav.help"} <= tui.binding_ids()
