"""`:` — jump to a view or a resource by name, k9s style, with completion.

Targets: `sandboxes` (alias `sb`), `chains`, `logs`, `help`, a sandbox id, a container id,
or `sandbox/container`; any unique prefix of them (`ch`, `sb-l/leg`). Tab completes as a
shell does (the longest common prefix; a whole sandbox id gets its `/`), the line above
the prompt lists what still matches, and a name that is unknown or ambiguous keeps the
prompt open with the reason. Resolution and completion are pure functions, tested
without a screen.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from kata_console.sources.model import SandboxView
from widgets.key_footer import KeyFooter
from widgets.prompt_bar import PromptBar

VIEWS = {
    "sandboxes": "sandboxes",
    "sb": "sandboxes",
    "chains": "chains",
    "findings": "findings",
    "logs": "logs",
    "help": "help",
}
VIEW_NAMES = ("sandboxes", "chains", "findings", "logs", "help")
#: candidates listed by name in an "ambiguous" message
LISTED = 5

Target = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a name leads (`target`), or why it leads nowhere (`error`, one line)."""

    target: Target | None
    error: str = ""


def _pick(name: str, names: list[str]) -> tuple[str | None, list[str]]:
    """The exact name, else the one name `name` is a prefix of; and every candidate."""
    if name in names:
        return name, [name]
    hits = [n for n in names if n.lower().startswith(name.lower())]
    return (hits[0] if len(hits) == 1 else None), hits


def _ambiguous(name: str, hits: list[str]) -> str:
    shown = ", ".join(hits[:LISTED]) + (
        f" and {len(hits) - LISTED} more" if len(hits) > LISTED else ""
    )
    return f"{name!r} is ambiguous: {shown}"


def resolve(text: str, sandboxes: list[SandboxView]) -> Resolution:
    """("view", name) | ("sandbox", id) | ("container", sandbox_id, container_id).

    Exact names win (views first, then sandboxes, then containers); otherwise a prefix
    must be unique among every name `:` knows."""
    name = text.strip().lstrip(":").strip()
    if not name:
        return Resolution(None, "type a view or a resource name")
    if name.lower() in VIEWS:
        return Resolution(("view", VIEWS[name.lower()]))
    if "/" in name:
        sb_part, _, c_part = name.partition("/")
        sb_id, hits = _pick(sb_part, [s.id for s in sandboxes])
        if sb_id is None:
            return Resolution(
                None, _ambiguous(sb_part, hits) if hits else f"no sandbox named {sb_part!r}"
            )
        sb = next(s for s in sandboxes if s.id == sb_id)
        c_id, hits = _pick(c_part, [c.id for c in sb.containers])
        if c_id is None:
            if hits:
                return Resolution(
                    None, _ambiguous(f"{sb_id}/{c_part}", [f"{sb_id}/{h}" for h in hits])
                )
            return Resolution(None, f"no container {c_part!r} in sandbox {sb_id}")
        return Resolution(("container", sb_id, c_id))
    if any(s.id == name for s in sandboxes):
        return Resolution(("sandbox", name))
    owners = [s.id for s in sandboxes if s.container(name) is not None]
    if len(owners) == 1:
        return Resolution(("container", owners[0], name))
    if owners:
        return Resolution(None, _ambiguous(name, [f"{o}/{name}" for o in owners]))
    candidates: list[Target] = [("view", v) for v in VIEW_NAMES]
    candidates += [("sandbox", s.id) for s in sandboxes]
    candidates += [("container", s.id, c.id) for s in sandboxes for c in s.containers]
    hits_t = [c for c in candidates if c[-1].lower().startswith(name.lower())]
    if len(hits_t) == 1:
        return Resolution(hits_t[0])
    if len({c[-1] for c in hits_t}) == 1:
        # one name for several things (a host's sandbox and its pause container share the
        # id): the prefix means that name, resolved as if typed whole (the sandbox wins)
        return resolve(hits_t[0][-1], sandboxes)
    if hits_t:
        return Resolution(None, _ambiguous(name, [_spelled(c) for c in hits_t]))
    return Resolution(None, f"no view or resource named {name!r}")


def resolve_target(text: str, sandboxes: list[SandboxView]) -> Target | None:
    """The target of `text`, None when it is unknown or ambiguous."""
    return resolve(text, sandboxes).target


def _spelled(target: Target) -> str:
    return f"{target[1]}/{target[2]}" if target[0] == "container" else target[-1]


def jump_names(sandboxes: list[SandboxView]) -> list[str]:
    """Every name `:` accepts, for completion."""
    names = list(VIEW_NAMES)
    names += [s.id for s in sandboxes]
    names += [c.id for s in sandboxes for c in s.containers]
    return names


def complete(text: str, sandboxes: list[SandboxView]) -> tuple[str, list[str]]:
    """(the text after Tab, the names that still match it).

    Completes to the longest common prefix of the matches; a whole sandbox id gets its
    `/` so the next Tab lists its containers."""
    typed = text.lstrip(":")
    if "/" in typed:
        sb_part, _, c_part = typed.partition("/")
        sb_id, _ = _pick(sb_part, [s.id for s in sandboxes])
        sb = next((s for s in sandboxes if s.id == sb_id), None)
        if sb is None:
            return text, []
        matches = [
            f"{sb.id}/{c.id}" for c in sb.containers if c.id.lower().startswith(c_part.lower())
        ]
        prefix = f"{sb.id}/"
    else:
        seen: set[str] = set()
        matches = []
        for n in jump_names(sandboxes):
            if n.lower().startswith(typed.lower()) and n not in seen:
                seen.add(n)
                matches.append(n)
        prefix = ""
    if not matches:
        return text, []
    common = _common_prefix([m.lower() for m in matches])
    if len(matches) == 1:
        done = matches[0]
        if not prefix and any(s.id == done and s.containers for s in sandboxes) and done == typed:
            done += "/"  # already whole: go on to its containers
        return done, matches
    if len(common) > len(typed):
        exact = next((m for m in matches if m.lower().startswith(common)), matches[0])
        return exact[: len(common)], matches
    return text, matches


def _common_prefix(names: list[str]) -> str:
    first, last = min(names), max(names)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]


class JumpScreen(ModalScreen[str | None]):
    """A bottom prompt with the matching names above it; dismisses with the text (None:
    cancelled). Enter on a name that leads nowhere keeps it open and says why."""

    BINDINGS = [Binding("tab", "complete", "Complete", id="jump.complete")]

    DEFAULT_CSS = """
    JumpScreen {
        background: $background 30%;
        & > #jump-matches {
            dock: bottom;
            height: 1;
            margin-bottom: 2;
            padding: 0 1;
            background: $panel;
            color: $text-muted;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
        & > PromptBar { margin-bottom: 1; }
    }
    """

    def __init__(self, sandboxes: list[SandboxView], cursor_blink: bool = True) -> None:
        super().__init__()
        self.sandboxes = sandboxes
        self.names = jump_names(sandboxes)
        self.cursor_blink = cursor_blink

    def compose(self) -> ComposeResult:
        yield Static(id="jump-matches")
        yield PromptBar(id="jump", cursor_blink=self.cursor_blink)
        yield KeyFooter()  # over the view's: its keys would be typed into the prompt

    def on_mount(self) -> None:
        self.query_one(PromptBar).ask(
            "jump",
            "jump to a view, a sandbox or sandbox/container",
            "",
            self.names,
        )
        self._list("")

    # ------------------------------------------------------------------ public API

    @property
    def matches_text(self) -> str:
        """What the line above the prompt says (the names that match, or why not)."""
        return str(self.query_one("#jump-matches", Static).content)

    # ------------------------------------------------------------------ actions

    def action_complete(self) -> None:
        prompt = self.query_one(PromptBar)
        done, matches = complete(prompt.value, self.sandboxes)
        if done != prompt.value:
            prompt.value = done
            prompt.cursor_position = len(done)
        elif not matches:
            self.app.bell()
        self._list(prompt.value)

    # ------------------------------------------------------------------ handlers

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._list(event.value)

    def on_prompt_bar_answered(self, event: PromptBar.Answered) -> None:
        event.stop()
        found = resolve(event.value, self.sandboxes)
        if found.target is None and event.value.strip() != "reload":
            self._say(Text(found.error, style="bold red"))
            prompt = self.query_one(PromptBar)
            prompt.ask("jump", prompt.placeholder, event.value, self.names)
            return
        self.dismiss(event.value)

    def on_prompt_bar_cancelled(self, event: PromptBar.Cancelled) -> None:
        event.stop()
        self.dismiss(None)

    # ------------------------------------------------------------------ helpers

    def _list(self, text: str) -> None:
        _, matches = complete(text, self.sandboxes)
        if not matches:
            self._say(Text(f"nothing named {text.strip()!r}", style="yellow"))
            return
        self._say(Text("  ".join(matches)))

    def _say(self, text: Text) -> None:
        self.query_one("#jump-matches", Static).update(text)
