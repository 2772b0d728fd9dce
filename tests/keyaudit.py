"""The key audit's machinery (tests/test_tui_key_audit.py): every listed key, pressed.

A `Place` is somewhere the console can be (a view or a modal), reached the way an
operator reaches it. On each place the audit visits every pane that can take focus; in
each it reads the keys the footer shows and the rows `?` lists (`help.key_entries`, what
the help screen renders) and, on a modal, the keys its own text names ("Esc closes",
"Run (y)"); README.md's keys for the place are added. Each key is set up so it has
something to do (`keyprep.prepare`), pressed with Pilot, and judged by what changed
(`keypicture.signature`: the screen stack, focus, cursors, scroll offsets, sort, filters,
prompts, toggles, status lines, notifications, the clipboard, a quit) or, for the keys
whose effect that cannot see, by what they must do (`keyprep.expectation`). A key that
opens a prompt is followed into it: the footer must not offer there a key the prompt
types instead, and the prompt's Esc must close it.

A binding running the same code is pressed once (`keyprep.press_class`): anywhere for
what does the same everywhere (a scroll, a sort, a jump), once per view for what depends
on the view (Esc, Enter, D, y, an operation, Tab); every other listing of it carries that
press's outcome. Exit is recorded, not done, so `q` can be pressed on every view.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace

from textual.pilot import Pilot
from textual.screen import Screen
from textual.widgets import Input

from kata_console.app import KataConsole
from kata_console.screens.base import ConsoleScreen
from kata_console.screens.help import KeyEntry, key_entries
from tests import keyprep
from tests.keypicture import (
    Resolved,
    changed,
    elsewhere,
    footer_keys,
    hint_keys,
    name_of,
    resolve,
    signature,
    typed_in_prompt,
)


@dataclass
class Outcome:
    """What pressing one listed key did (`problem` empty: it worked)."""

    place: str
    focus: str
    key: str
    lists: tuple[str, ...]
    binding: str = ""
    problem: str = ""
    did: str = ""
    #: the code the key ran (`keyprep.code_class`)
    code: object = None


@dataclass
class PlaceReport:
    """Everything one place lists, and what each key did there."""

    place: str
    #: the class of the place's screen
    screen: str = ""
    #: focus state -> (key, enabled) the footer shows there
    footer: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)
    #: focus state -> the rows `?` lists there (a modal: what its binding chain binds)
    help: dict[str, list[KeyEntry]] = field(default_factory=dict)
    #: keys the place's own text names (a modal's "Esc closes")
    hints: set[str] = field(default_factory=set)
    outcomes: list[Outcome] = field(default_factory=list)

    def bound(self, focus: str) -> set[str]:
        """Keys bound where they are pressed (`?`'s rows, not its "when focused" ones)."""
        return {e.key for e in self.help.get(focus, []) if not elsewhere(e)}

    def problems(self) -> list[str]:
        return [
            f"{self.place} [{o.focus}] {o.key} ({'+'.join(o.lists)}): {o.problem}"
            for o in self.outcomes
            if o.problem
        ]


@dataclass(frozen=True)
class Place:
    """Somewhere the console can be, and how to get there from the first view."""

    name: str
    reach: Callable[[Audit], Awaitable[Screen[object]]]


def judge_setups(reports: Iterable[PlaceReport]) -> None:
    """A key with nothing to do where it was listed (an empty table's Enter) is judged
    by the same code where it had something: it passes when that worked."""
    reports = list(reports)
    worked: dict[object, Outcome] = {}
    for report in reports:
        for o in report.outcomes:
            if o.code is not None and not o.problem:
                worked.setdefault((o.code, o.place), o)  # the same view first
                worked.setdefault(o.code, o)
    for report in reports:
        for o in report.outcomes:
            there = worked.get((o.code, o.place)) or worked.get(o.code)
            if o.problem.startswith(keyprep.NO_SETUP) and there is not None:
                why = o.problem.removeprefix(keyprep.NO_SETUP)
                o.did = f"{why}; works on {there.place} [{there.focus}]"
                o.problem = ""


class Audit:
    """One running app: reaches places, lists their keys, presses them."""

    def __init__(
        self, source: str, app: KataConsole, pilot: Pilot[None], memo: dict[object, Outcome]
    ) -> None:
        """`memo`: outcomes by `keyprep.press_class`, shared by the audits of a run."""
        self.source = source
        self.app = app
        self.pilot = pilot
        self.memo = memo
        self.exits = 0
        #: calls of the source's refresh methods (what `ctrl+r` is judged by)
        self.calls: dict[str, int] = {}
        self._place: Place | None = None
        self._screen: Screen[object] | None = None
        self._report = PlaceReport("-")

    # -------------------------------------------------------------- set-up

    def record_exits(self) -> Callable[[], None]:
        """`exit` counts instead of leaving; returns the undo (before the app ends)."""
        app = self.app

        def exit_(*_: object, **__: object) -> None:
            self.exits += 1

        app.exit = exit_  # type: ignore[method-assign]
        return lambda: delattr(app, "exit")

    def count_calls(self, names: Iterable[str]) -> None:
        """Count the source's calls a refresh makes."""
        source = self.app.source
        for name in names:
            real = getattr(source, name, None)
            if real is None:
                continue
            self.calls[name] = 0

            def counted(*args: object, _real=real, _name=name, **kwargs: object):  # type: ignore[no-untyped-def]
                self.calls[_name] += 1
                return _real(*args, **kwargs)

            setattr(source, name, counted)

    async def quiet(self) -> None:
        """The messages a change queued are handled (`settle` when the layout counts)."""
        await self.pilot._wait_for_screen()

    async def settle(self) -> None:
        """What a key started has landed: workers done, the screen laid out again."""
        app = self.app
        if any(not w.is_finished for w in app.workers):
            await app.workers.wait_for_complete()
        await self.pilot.pause()

    # -------------------------------------------------------------- places

    async def go(self, place: Place) -> Screen[object]:
        """To `place` from the first view: a fresh instance of its screen."""
        app = self.app
        while len(app.screen_stack) > 1:
            app.pop_screen()
        await self.settle()
        keyprep.reset_first_view(app.screen)
        screen = await place.reach(self)
        await self.settle()
        self._place, self._screen = place, screen
        return screen

    async def back_to(self, focus: str) -> Screen[object]:
        """The place again (reached again when a key left it), `focus` focused."""
        app = self.app
        assert self._place is not None and self._screen is not None
        if self._screen not in app.screen_stack:
            await self.go(self._place)
        moved = False
        while app.screen is not self._screen:
            app.pop_screen()
            moved = True
        screen = self._screen
        if isinstance(screen, ConsoleScreen):  # a modal's prompt is the modal itself
            moved |= keyprep.close_prompts(screen)
        if name_of(app.focused) != focus:
            for widget in screen.focus_chain:
                if name_of(widget) == focus:
                    widget.focus()
                    moved = True
        if moved:
            await self.quiet()
        return screen

    # -------------------------------------------------------------- one place

    async def audit(
        self, place: Place, readme: Iterable[tuple[str, str | None]] = ()
    ) -> PlaceReport:
        """List and press every key of `place`, pane by pane. `readme`: (key, the class
        of the pane it needs focused, or None) as README.md lists them for the place."""
        report = self._report = PlaceReport(place.name)
        screen = await self.go(place)
        report.screen = type(screen).__name__
        view = isinstance(screen, ConsoleScreen)
        states = [name_of(w) for w in screen.focus_chain] or ["-"]
        readme = list(readme)
        unplaced = set(range(len(readme)))  # README keys not yet found bound on a pane
        panes: set[str] = set()
        done: dict[tuple[str, str], Outcome] = {}
        last: list[tuple[str, str, set[str], Resolved | None]] = []
        for focus in states:
            await self.back_to(focus)
            await self.pilot.pause()  # the footer recomposes after a refresh, then fits
            await self.pilot.pause()
            classes = {c.__name__ for c in type(self.app.focused).__mro__}
            panes |= classes
            report.help[focus] = key_entries(screen)
            report.footer[focus] = footer_keys(screen)  # a modal with its own footer too
            if not view:
                report.hints |= hint_keys(screen)
            lists: dict[str, set[str]] = {}
            for key, _ in report.footer[focus]:
                lists.setdefault(key, set()).add("footer")
            for key in report.bound(focus) if view else ():
                lists.setdefault(key, set()).add("help")
            for key in report.hints:
                lists.setdefault(key, set()).add("hint")
            for i, (key, pane) in enumerate(readme):
                # a README key about a kind of pane: on every such pane; about the view:
                # on the first pane whose chain binds it
                if (pane is None and i not in unplaced) or pane not in (None, *classes):
                    continue
                if key in report.bound(focus):
                    lists.setdefault(key, set()).add("readme")
                    unplaced.discard(i)
                elif pane is not None:
                    why = f"README lists it for every {pane}; this one does not bind it"
                    done[(focus, key)] = Outcome(place.name, focus, key, ("readme",), problem=why)
                    unplaced.discard(i)
            found = {key: resolve(screen, key) for key in lists}
            for key in sorted(lists, key=lambda k: keyprep.rank(found[k])):
                if keyprep.rank(found[key])[0] == 3:  # it leaves the place: after the rest
                    last.append((focus, key, lists[key], found[key]))
                else:
                    done[(focus, key)] = await self.press(focus, key, lists[key], found[key])
        for i in sorted(unplaced):
            key, pane = readme[i]
            if pane is not None and pane not in panes:
                continue  # a row about a pane this place does not have
            on = f" (with a {pane} focused)" if pane else ""
            why = f"README lists it here{on}; nothing binds it"
            done[("-", key)] = Outcome(place.name, "-", key, ("readme",), problem=why)
        # what leaves comes last, and a confirmation's yes after its no (yes runs it)
        last.sort(key=lambda item: item[3] is not None and item[3].params == (True,))
        for focus, key, lists, found in last:
            done[(focus, key)] = await self.press(focus, key, lists, found)
        report.outcomes += done.values()
        return report

    async def press(
        self, focus: str, key: str, listed: set[str], found: Resolved | None
    ) -> Outcome:
        """Press `key` in the focus state `focus` (`found`: what it runs there, read when
        the place's keys were listed) and judge what it did."""
        lists = tuple(sorted(listed))
        outcome = Outcome(self._report.place, focus, key, lists)
        if found is None:
            outcome.problem = "listed, but nothing where it is pressed binds it"
            return outcome
        outcome.binding = found.binding.id or found.binding.description
        promise = keyprep.row_promise(found, key, lists)
        outcome.code = keyprep.code_class(found, promise)
        cls = keyprep.press_class(found, self._report.place, self.source, promise)
        if cls in self.memo:
            first = self.memo[cls]
            return replace(
                first,
                place=outcome.place,
                focus=focus,
                key=key,
                lists=lists,
                did=f"as {first.key} on {first.place}"
                if first.key != key
                else f"as on {first.place}",
            )
        screen = await self.back_to(focus)
        if not found.enabled:
            reason = keyprep.disabled_reason(screen)
            outcome.did = f"disabled: {reason}"
            if not reason:
                outcome.problem = "shown disabled, and nothing on the screen says why"
            if not await keyprep.enable(found, screen, self):
                return outcome
        found = resolve(screen, key) or found  # the live binding (a new screen instance)
        outcome.problem, moved = await self._press(found, key, promise)
        if outcome.problem == "no observable effect" and found.action.startswith("focus_"):
            # a key that focuses a pane, pressed where that pane has focus: from another
            other = next((w for w in screen.focus_chain if w is not self.app.focused), None)
            if other is not None:
                other.focus()
                await self.quiet()
                outcome.problem, moved = await self._press(found, key, promise)
        outcome.did = ", ".join(moved[:4])
        if not outcome.problem.startswith(keyprep.NO_SETUP):  # another pane may have work
            self.memo[cls] = outcome
        return outcome

    async def _press(self, found: Resolved, key: str, promise: str | None) -> tuple[str, list[str]]:
        """(problem, what changed) of one press, set up first and undone after."""
        screen = found.screen
        setup = await keyprep.prepare(found, promise, screen, self)
        if setup.problem:
            await keyprep.undo(setup, self)
            return keyprep.NO_SETUP + setup.problem, []
        before = signature(self.app, self.exits)
        calls = dict(self.calls)
        await self.pilot.press(key)
        if any(not w.is_finished for w in self.app.workers):
            await self.settle()
        await keyprep.settle_plan(self)
        after = signature(self.app, self.exits)
        moved = changed(before, after)
        problem = keyprep.expectation(found, promise, self, before, after, calls)
        if problem is None:
            problem = "" if moved else "no observable effect"
        if not problem and isinstance(self.app.focused, Input) and self.app.screen is screen:
            await self._in_prompt(key, screen)
        await keyprep.undo(setup, self)
        return problem, moved

    async def _in_prompt(self, opener: str, screen: Screen[object]) -> None:
        """`opener` opened a prompt: the footer must not offer a key the prompt types
        instead, and the prompt's own way out (Esc) must close it."""
        prompt = self.app.focused
        assert isinstance(prompt, Input)
        place, focus = self._report.place, f"{name_of(prompt)} (after {opener})"
        own = {key for key, _ in prompt._bindings}
        for key, enabled in footer_keys(screen):
            if enabled and typed_in_prompt(key) and key not in own:
                why = "the footer offers it while the prompt types it instead"
                self._report.outcomes.append(Outcome(place, focus, key, ("footer",), problem=why))
        found = resolve(screen, "escape")
        if found is None or found.node is not prompt:
            why = "nothing in the prompt binds Esc"
            self._report.outcomes.append(Outcome(place, focus, "escape", (), problem=why))
            return
        cls = ("prompt", type(prompt), found.code_name)
        if cls in self.memo:
            first = self.memo[cls]
            self._report.outcomes.append(
                replace(first, place=place, focus=focus, did=f"as on {first.place}")
            )
            return
        await self.pilot.press("escape")
        await self.settle()
        closed = not getattr(prompt, "is_open", False) and self.app.focused is not prompt
        outcome = Outcome(
            place,
            focus,
            "escape",
            ("prompt",),
            binding=found.binding.id or "",
            problem="" if closed else "Esc did not close the prompt",
            did="closed the prompt" if closed else "",
        )
        self.memo[cls] = outcome
        self._report.outcomes.append(outcome)
