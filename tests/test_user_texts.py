"""Nothing a user sees talks about issues, tickets or work still to come.

Help texts, every string literal the code can show (errors, statuses, screen texts,
binding descriptions; docstrings are for engineers and are skipped) and every string in
the fixtures the console displays must say what is true now.
"""

from __future__ import annotations

import argparse
import ast
import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from kata_console.app import KataConsole
from kata_console.cli import build_parser
from kata_console.sources.host_source import EMPTY_NOTICE, HostSource
from tests.conftest import REPO
from tests.tui_support import make_app

BANNED = re.compile(
    r"\b(issues?|tickets?|todo|fixme|xxx|roadmap|future|later|not yet|arrives? with|"
    r"coming soon|host[- ]inspection|will be (?:added|available|supported|implemented))\b",
    re.IGNORECASE,
)
#: code whose strings can reach a user (generated protobuf modules are not ours to word)
USER_CODE = ("kata_console", "widgets", "backends")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings or bare string statements."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def code_strings() -> Iterator[tuple[str, str]]:
    for package in USER_CODE:
        for path in sorted((REPO / package).rglob("*.py")):
            if "generated" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            skip = _docstrings(tree)
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and id(node) not in skip
                ):
                    yield f"{path.relative_to(REPO)}:{node.lineno}", node.value


def _json_strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _json_strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _json_strings(item, f"{where}[{i}]")


def fixture_strings() -> Iterator[tuple[str, str]]:
    for path in sorted((REPO / "fixtures").rglob("*.json")):
        yield from _json_strings(json.loads(path.read_text()), str(path.relative_to(REPO)))


def help_texts() -> Iterator[tuple[str, str]]:
    parser = build_parser()
    yield "kata-console --help", parser.format_help()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"kata-console {name} --help", sub.format_help()


def offenders(texts: Iterator[tuple[str, str]]) -> list[str]:
    return [f"{where}: {text[:100]!r}" for where, text in texts if BANNED.search(text)]


@pytest.mark.parametrize(
    "source", [help_texts, code_strings, fixture_strings], ids=["help", "code", "fixtures"]
)
def test_no_user_visible_text_mentions_issues_or_future_work(source: Any) -> None:
    assert offenders(source()) == []


def test_the_scanner_finds_what_it_must() -> None:
    """The words that used to be on screen are caught, docstrings are not scanned."""
    seen = [("x", "reading Kata state arrives with the host-inspection issue")]
    assert offenders(iter(seen)) != []
    tree = ast.parse('"""an issue for later"""\nX = "the issue"\n')
    assert [n.value for n in ast.walk(tree) if id(n) in _docstrings(tree)] == ["an issue for later"]
    assert sum(1 for where, _ in code_strings() if where.startswith("kata_console/cli/")) > 50


def screen_text(app: KataConsole) -> str:
    """What the terminal shows, line by line, from the console's own screenshot."""
    rows: dict[float, list[str]] = {}
    svg = app.export_screenshot()
    for match in re.finditer(r'<text[^>]*\by="([\d.]+)"[^>]*>(.*?)</text>', svg, re.S):
        text = html.unescape(re.sub(r"<[^>]+>", "", match.group(2))).replace("\xa0", " ")
        rows.setdefault(float(match.group(1)), []).append(text)
    return "\n".join("".join(parts) for _, parts in sorted(rows.items()))


async def visit(app: KataConsole, keys: list[str]) -> list[tuple[str, str]]:
    shown: list[tuple[str, str]] = []
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause(0.3)
        for key in ["", *keys]:
            if key:
                await pilot.press(key)
                await pilot.pause(0.3)
            shown.append(
                (f"after {key or 'start'!r} on {type(app.screen).__name__}", screen_text(app))
            )
    return shown


async def test_console_screens_say_what_is_true_now() -> None:
    host = KataConsole(
        HostSource(), theme="textual-dark", animations=False, empty_notice=EMPTY_NOTICE
    )
    shown = await visit(host, ["question_mark", "escape", "C", "escape"])
    shown += await visit(make_app(), ["enter", "enter", "question_mark", "escape", "L"])
    assert "no Kata sandboxes" in shown[0][1]  # the scan reads what is on screen
    assert offenders(iter(shown)) == []
