"""Shared set-up for the console tests: one deterministic app factory (snapshot checklist
§3.10: fixed theme, no animations, no blinking cursors, frozen clock, fixed ids)."""

from __future__ import annotations

from typing import Any

from kata_console.app import KataConsole
from kata_console.sources.fixture_source import FixtureSource

SIZE = (120, 40)
READ_ONLY_REASON = "fixture opened read-only for the test"


def make_source(**kwargs: Any) -> FixtureSource:
    return FixtureSource(**kwargs)


def make_app(source: FixtureSource | None = None, **settings: Any) -> KataConsole:
    app = KataConsole(
        source or make_source(),
        theme="textual-dark",
        cursor_blink=False,
        animations=False,
        **settings,
    )
    return app


def read_only_app(**settings: Any) -> KataConsole:
    return make_app(make_source(read_only=True, read_only_reason=READ_ONLY_REASON), **settings)
