"""Every key the footer, `?` or README.md lists works where it is listed, or is not listed.

One audit run (tests/keyaudit.py) walks the places of the console on three sources: the
embedded demo (the engine with simulated agents), a recorded host (doctor-node.json:
read-only, with findings; the demo node has none) and a plan in the step-through. On
each place it presses every key the footer shows, every row `?` lists, every key
README.md's keys table gives that place and every key a modal's own text names, each set
up so it has something to do, and records what each did. The tests read that record:
one per source and place, so a failure names the place and, in its message, each key
and why. `KEYAUDIT_REPORT=FILE` writes the whole record (every key, what it did).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import re
from pathlib import Path

import pytest
from textual.screen import Screen
from textual.worker import WorkerCancelled

import kata_console.screens as screens_pkg
from kata_console.screens.help import key_entries
from kata_console.sources.demo_source import DemoSource
from kata_console.sources.model import Operation
from tests.conftest import REPO
from tests.keyaudit import Audit, Outcome, Place, PlaceReport, judge_setups
from tests.keypicture import as_key, elsewhere
from tests.test_tui_findings import BROKEN
from tests.test_tui_findings import _app as recorded_host  # frozen at the recording
from tests.test_tui_stepthrough import STEPTHROUGH, plan_app
from tests.test_tui_stepthrough import settle as plan_settle
from tests.tui_support import SIZE, make_app

#: the one audit run is the first test's set-up (the default limit is per test)
pytestmark = pytest.mark.timeout(600)

#: the sandbox and container the views are opened on, by source
SB = "sb-web"
CONTAINER = {"demo": "web", "host": "app", "plan": "web"}


# ---------------------------------------------------------------------- places


async def _first_view(a: Audit) -> Screen[object]:
    return a.app.screen


async def _sandbox(a: Audit) -> Screen[object]:
    a.app.open_sandbox(SB)
    await a.settle()
    return a.app.screen


async def _container(a: Audit) -> Screen[object]:
    a.app.open_container(SB, CONTAINER[a.source])
    await a.settle()
    return a.app.screen


async def _device(a: Audit) -> Screen[object]:
    """The device modal, as Enter on the sandbox's first device row opens it."""
    await _sandbox(a)
    sb = a.app.sandbox(SB)
    assert sb is not None and sb.devices, "the audit needs a sandbox with devices"
    a.app.open_device(sb, sb.devices[0].id)
    await a.settle()
    return a.app.screen


def _view(name: str) -> Place:
    async def reach(a: Audit) -> Screen[object]:
        a.app.jump_to(name)
        await a.settle()
        return a.app.screen

    return Place(name, reach)


async def _describe(a: Audit) -> Screen[object]:
    a.app.open_describe(("sandbox", SB))
    await a.settle()
    return a.app.screen


async def _help(a: Audit) -> Screen[object]:
    screen = await _sandbox(a)
    screen.action_help()  # type: ignore[attr-defined]
    await a.settle()
    return a.app.screen


async def _jump(a: Audit) -> Screen[object]:
    a.app.open_jump()
    await a.settle()
    return a.app.screen


async def _palette(a: Audit) -> Screen[object]:
    a.app.action_command_palette()
    await a.settle()
    return a.app.screen


async def _confirm(a: Audit) -> Screen[object]:
    a.app.request_op(Operation("stop_container", SB, CONTAINER[a.source]))
    await a.settle()
    return a.app.screen


async def _stepthrough(a: Audit) -> Screen[object]:
    a.app.open_stepthrough()
    await plan_settle(a.pilot)
    return a.app.screen


VIEW_PLACES = [
    Place("sandboxes", _first_view),
    Place("sandbox", _sandbox),
    Place("container", _container),
    _view("chains"),
    _view("logs"),
    _view("findings"),
    Place("describe", _describe),
]
MODAL_PLACES = [
    Place("device", _device),
    Place("help", _help),
    Place("jump", _jump),
    Place("palette", _palette),
]
CONFIRM = Place("confirm", _confirm)  # last: its `y` runs the operation
STEPTHROUGH_PLACE = Place("stepthrough", _stepthrough)


#: source -> the places audited on it (a read-only host never asks for confirmation; a
#: plan's places are the step-through and the first view it returns to with `T`)
PLACES: dict[str, list[Place]] = {
    "demo": [*VIEW_PLACES, *MODAL_PLACES, CONFIRM],
    # the modals' keys, the chains view's and the all-logs view's are the same code on
    # every source: the host adds its own panes (processes, links, metrics), read-only
    # dimming, findings with rows and the recorded files
    "host": [p for p in VIEW_PLACES if p.name not in ("chains", "logs")],
    "plan": [STEPTHROUGH_PLACE, Place("sandboxes", _first_view)],
}
VIEWS = frozenset({*(p.name for p in VIEW_PLACES), "stepthrough"})


# ---------------------------------------------------------------------- README


README = REPO / "README.md"
#: README keys-table row -> (places it speaks of, the pane class the keys need focused);
#: a row about a pane applies where that pane can take focus
README_WHERE: dict[str, tuple[frozenset[str], str | None]] = {
    "every view": (VIEWS, None),
    "tables": (VIEWS, "DataTable"),
    "every table (sandboxes, containers, devices, processes, links, ops)": (
        VIEWS,
        "ResourceTable",
    ),
    "sandboxes, sandbox, container": (frozenset({"sandboxes", "sandbox", "container"}), None),
    "sandboxes, sandbox, container, chains": (
        frozenset({"sandboxes", "sandbox", "container", "chains"}),
        None,
    ),
    "findings": (frozenset({"findings"}), None),
    "describe": (frozenset({"describe"}), None),
    "sandboxes": (frozenset({"sandboxes"}), None),
    "sandbox / container": (frozenset({"sandbox", "container"}), None),
    "device row": (frozenset({"sandbox", "container"}), "DeviceTable"),
    "sandbox (host and snapshot sources)": (frozenset({"sandbox"}), None),
    "step-through": (frozenset({"stepthrough"}), None),
    "chain tree": (frozenset({"container", "chains"}), "ChainTree"),
    "all logs": (frozenset({"logs"}), None),
    "log pane": (VIEWS, "LogView"),
}
#: rows the audit cannot press, and why
README_NOT_AUDITED = {
    "while an operation runs": "needs an operation in flight (tests/test_tui_state.py)",
}
#: (row, key) -> where that key of the row is for, where the row's text says so
README_ONLY: dict[tuple[str, str], tuple[frozenset[str], str | None]] = {
    ("every view", "escape"): (VIEWS - {"sandboxes"}, None),  # "on the first view ... only then"
    ("every view", "L"): (VIEWS - {"logs"}, None),  # "each from the other views"
    ("every view", "C"): (VIEWS - {"chains"}, None),
    ("every view", "F"): (VIEWS - {"findings"}, None),
    ("sandbox / container", "enter"): (frozenset({"sandbox"}), None),  # "on a container row"
    ("sandbox / container", "o"): (frozenset({"container"}), None),  # "on the container screen"
    ("step-through", "enter"): (frozenset({"stepthrough"}), "OpList"),  # "on an op"
    ("step-through", "T"): (frozenset({"sandboxes"}), None),  # "returns to it from other views"
    ("device row", "escape"): (frozenset({"device"}), None),  # "esc closes it"
    ("log pane", "p"): (VIEWS - {"stepthrough"}, "LogView"),  # "the plan's" there
    ("log pane", "n"): (VIEWS - {"stepthrough"}, "LogView"),
}
#: (row, key) -> (source, place) the row's text says the key is not for
README_EXCEPT: dict[tuple[str, str], frozenset[tuple[str, str]]] = {
    ("sandbox / container", "l"): frozenset({("host", "sandbox")}),  # "no log pane"
    # the audit's host is a recording: "a recording has no shim to ask" (a live host's `m`
    # against a shim socket double: tests/test_tui_host.py)
    ("sandbox (host and snapshot sources)", "m"): frozenset({("host", "sandbox")}),
    # "not offered while the list shows none, as on a plan before its first op"
    ("sandboxes", "enter"): frozenset({("plan", "sandboxes")}),
    # "not on a host or a recording, which drive no Kata runtime"
    **{("sandboxes", key): frozenset({("host", "sandboxes")}) for key in ("s", "x", "ctrl+d")},
    **{
        ("sandbox / container", key): frozenset({("host", "sandbox"), ("host", "container")})
        for key in ("s", "x", "u", "r", "k", "ctrl+d")
    },
    # "offered only for a container whose create failed": the demo's sb-web has none (the
    # fixture's sb-batch has one: tests/test_tui_sandbox_keys.py)
    ("sandbox / container", "c"): frozenset(
        {(src, place) for src in ("host", "demo") for place in ("sandbox", "container")}
    ),
}
#: rows for one kind of source only
README_SOURCES = {
    "sandbox (host and snapshot sources)": frozenset({"host"}),
    "step-through": frozenset({"plan"}),
}


def _unparenthesised(text: str) -> str:
    """`text` without what is in parentheses (examples and asides, not keys)."""
    out, depth = [], 0
    for char in text:
        depth += char == "("
        if not depth:
            out.append(char)
        depth -= char == ")" and depth > 0
    return "".join(out)


def readme_rows() -> list[tuple[str, list[str]]]:
    """(where, keys) of every row of README.md's keys table."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("| where | keys |") + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        where, cell = (c.strip() for c in line.strip().strip("|").split("|", 1))
        tokens = re.findall(r"`([^`]+)`", _unparenthesised(cell))
        rows.append((where, [k for t in tokens if (k := as_key(t))]))
    return rows


def readme_keys(source: str, place: str) -> list[tuple[str, str | None]]:
    """(key, the pane class it needs focused) README.md lists for `place`."""
    out = []
    for where, keys in readme_rows():
        if where in README_NOT_AUDITED:
            continue
        places, pane = README_WHERE[where]
        if source not in README_SOURCES.get(where, {source}):
            continue
        for key in keys:
            at, needs = README_ONLY.get((where, key), (places, pane))
            if place in at and (source, place) not in README_EXCEPT.get((where, key), ()):
                out.append((key, needs))
    return out


# ---------------------------------------------------------------------- the run


async def _audit(source: str, app, pilot, reports, memo) -> None:  # type: ignore[no-untyped-def]
    audit = Audit(source, app, pilot, memo)
    undo = audit.record_exits()
    audit.count_calls(["load", "chains", "raw_document"])
    try:
        for place in PLACES[source]:
            keys = readme_keys(source, place.name)
            reports[(source, place.name)] = await audit.audit(place, keys)
    finally:
        undo()


async def _run() -> dict[tuple[str, str], PlaceReport]:
    """Every source in turn; what one source proved for shared code holds for the next
    (`keyprep.press_class`)."""
    reports: dict[tuple[str, str], PlaceReport] = {}
    memo: dict[object, Outcome] = {}
    demo = DemoSource(hypervisor="sim")
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await asyncio.wait_for(demo.ready(), 30)
        # the scenario has played: cut the feed, so only the keys change the picture
        if app._unsubscribe is not None:
            app._unsubscribe()
        with contextlib.suppress(WorkerCancelled):  # a reload the last event started
            await app.workers.wait_for_complete()
        await app._load()
        await pilot.pause()
        await _audit("demo", app, pilot, reports, memo)
    host = recorded_host(BROKEN)  # a recorded node with findings (the demo node has none)
    async with host.run_test(size=SIZE) as pilot:
        await host.workers.wait_for_complete()
        await pilot.pause()
        await _audit("host", host, pilot, reports, memo)
    plan, source = plan_app(STEPTHROUGH)
    try:
        async with plan.run_test(size=SIZE) as pilot:
            await plan_settle(pilot)
            await _audit("plan", plan, pilot, reports, memo)
    finally:
        await source.close()
    judge_setups(reports.values())
    return reports


@pytest.fixture(scope="module")
def reports() -> dict[tuple[str, str], PlaceReport]:
    out = asyncio.run(_run())
    if path := os.environ.get("KEYAUDIT_REPORT"):  # every key and what it did, to read
        Path(path).write_text(_table(out), encoding="utf-8")
    return out


def _table(reports: dict[tuple[str, str], PlaceReport]) -> str:
    lines = []
    for (source, place), report in reports.items():
        for o in report.outcomes:
            verdict = o.problem or "ok"
            lines.append(
                f"{source}\t{place}\t{o.focus}\t{o.key}\t{'+'.join(o.lists)}\t"
                f"{o.binding}\t{verdict}\t{o.did}"
            )
    return "\n".join(lines) + "\n"


AUDITED = [(source, place.name) for source, places in PLACES.items() for place in places]
IDS = [f"{s}-{p}" for s, p in AUDITED]


# ---------------------------------------------------------------------- the tests


@pytest.mark.parametrize(("source", "place"), AUDITED, ids=IDS)
def test_every_listed_key_does_what_it_says(
    reports: dict[tuple[str, str], PlaceReport], source: str, place: str
) -> None:
    report = reports[(source, place)]
    assert report.outcomes or place == "palette", f"{place}: the audit pressed nothing"
    if report.problems():
        pytest.fail("\n".join(report.problems()), pytrace=False)


@pytest.mark.parametrize(("source", "place"), AUDITED, ids=IDS)
def test_footer_help_and_readme_agree(
    reports: dict[tuple[str, str], PlaceReport], source: str, place: str
) -> None:
    """A footer key is a row of `?` where it is shown; a row of `?` for another pane
    names a pane the place has (its key is then pressed there); a README key is bound."""
    report = reports[(source, place)]
    wrong = []
    for focus, keys in report.footer.items():
        rows = {e.key: e for e in report.help[focus] if not elsewhere(e)}
        for key, enabled in keys:
            if key not in rows:
                wrong.append(f"[{focus}] {key}: in the footer, not in `?`")
            elif rows[key].enabled != enabled:
                wrong.append(f"[{focus}] {key}: enabled {enabled} in the footer, not in `?`")
    pressed = {o.binding for o in report.outcomes}
    bound_ids = {e.binding_id for rows in report.help.values() for e in rows if not elsewhere(e)}
    for focus, rows in report.help.items():
        for e in rows:
            if elsewhere(e) and e.binding_id not in pressed | bound_ids:
                wrong.append(f"[{focus}] {e.display} ({e.binding_id}): listed for {e.where}")
    wrong += [p for p in report.problems() if "README" in p]
    if wrong:
        pytest.fail(f"{source}/{place}:\n" + "\n".join(wrong), pytrace=False)


def test_every_readme_row_is_audited() -> None:
    rows = readme_rows()
    assert rows, "README.md has no keys table"
    unknown = [w for w, _ in rows if w not in README_WHERE and w not in README_NOT_AUDITED]
    assert not unknown, f"README rows the audit does not know: {unknown}"
    for where, keys in rows:
        assert keys, f"README row {where!r} lists no key the audit can read"


def test_the_audit_reaches_every_screen_of_the_console(
    reports: dict[tuple[str, str], PlaceReport],
) -> None:
    """A new screen under kata_console/screens is audited or this fails."""
    from textual.command import CommandPalette

    reached = {report.screen for report in reports.values()}
    declared = set()
    for path in Path(screens_pkg.__file__).parent.glob("*.py"):
        module = __import__(f"kata_console.screens.{path.stem}", fromlist=["*"])
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Screen) and cls.__module__ == module.__name__:
                declared.add(cls.__name__)
    declared -= {"ConsoleScreen", "ResourceScreen", "FilterHandling"}  # bases
    missing = declared - reached - {CommandPalette.__name__}
    assert not missing, f"screens the key audit never reaches: {sorted(missing)}"


async def test_esc_on_the_first_view_is_offered_only_while_it_clears_a_filter() -> None:
    """The first view has nowhere to go back to: Esc is in its footer and `?` only while
    a filter is set, and then it clears the filter."""
    from tests.keypicture import footer_keys

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        table = screen.query_one("#sandboxes")

        def offered() -> tuple[bool, bool]:
            in_help = any(e.key == "escape" for e in key_entries(screen) if not elsewhere(e))
            return any(k == "escape" for k, _ in footer_keys(screen)), in_help

        assert offered() == (False, False)
        await pilot.press("slash", "w", "e", "b", "enter")
        await pilot.pause()
        assert table.filter == "web" and offered() == (True, True)
        await pilot.press("escape")
        await pilot.pause()
        assert table.filter == "" and offered() == (False, False)
        assert app.screen is screen
