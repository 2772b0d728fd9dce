"""Command palette provider: sandboxes, containers, views and actions with their keys.

The palette doubles as a searchable key reference (Dolphie's idea): each entry's help
line names the key that does the same thing in the view the palette was opened from,
as that view binds it now (a `--keymap` moves it here too). The lifecycle entries are
the view's own: named by what they act on (the selected sandbox, the selected
container, this container), and left out where they cannot apply.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from kata_console.keymap import keys_for
from kata_console.screens.base import MUTATING_ACTIONS, ConsoleScreen

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from kata_console.app import KataConsole

#: (title, jump target, action of the view that does the same, help)
VIEW_COMMANDS = (
    ("view: sandboxes", "sandboxes", None, "the list of sandboxes"),
    ("view: chains", "chains", "chains", "every overlay and erofs mount of the host"),
    ("view: logs", "logs", "logs", "every log line of the source"),
    ("view: findings", "findings", "findings", "doctor's findings on what the console shows"),
    ("help: keys of this view", "help", "help", "every key of the current view"),
    ("refresh", "reload", "reload", "reload sandboxes from the source"),
)
#: an operation's object, as an entry names it
_KINDS = {"sandbox": "sandbox", "container": "container"}


class ConsoleCommands(Provider):
    """Everything the console can open or do from the view the palette was opened on."""

    @property
    def kc(self) -> KataConsole:
        return cast("KataConsole", self.app)

    def _keys(self, node: DOMNode, action: str) -> str:
        """The keys that run `action` on this node now, as the footer shows them."""
        return " or ".join(self.app.get_key_display(Binding(k, "")) for k in keys_for(node, action))

    def _commands(self) -> list[tuple[str, object, Content]]:
        out: list[tuple[str, object, Content]] = []
        view = self.screen if isinstance(self.screen, ConsoleScreen) else None
        for title, target, action, help_text in VIEW_COMMANDS:
            keys = [f":{target}"] if target in ("sandboxes", "chains", "logs", "findings") else []
            if action and view is not None and (key := self._keys(view, action)):
                keys.insert(0, key)
            out.append((title, partial(self.kc.jump_to, target), _help(help_text, keys)))
        for sb in self.kc.sandboxes:
            out.append(
                (
                    f"sandbox {sb.id}",
                    partial(self.kc.jump_to, sb.id),
                    _help(f"{sb.state}, {len(sb.containers)} container(s)", [f":{sb.id}"]),
                )
            )
            for c in sb.containers:
                out.append(
                    (
                        f"container {sb.id}/{c.id}",
                        partial(self.kc.jump_to, f"{sb.id}/{c.id}"),
                        _help(f"{c.state or 'not created'}, rootfs {c.rootfs_kind}", [f":{c.id}"]),
                    )
                )
        if getattr(self.kc.source, "stepthrough", False):
            out.append(
                (
                    "view: step-through",
                    self.kc.open_stepthrough,
                    _help("the plan, one engine step at a time", ["T"]),
                )
            )
        if view is not None:
            out += self._lifecycle(view)
        return out

    def _lifecycle(self, view: ConsoleScreen) -> list[tuple[str, object, Content]]:
        """The view's lifecycle actions that can apply now: a view binds them, the
        source accepts them, something is selected to act on."""
        out: list[tuple[str, object, Content]] = []
        if self.kc.actions_refused:
            return out
        for action, op in MUTATING_ACTIONS.items():
            keys = self._keys(view, action)
            if not keys or view.check_action(action, ()) is not True:
                continue
            operation = view.operation_for(op)
            if operation is None:
                continue
            refusal = getattr(self.kc.source, "refusal", None)
            if refusal is not None and refusal(operation):
                continue  # refused up front (create of an existing one, start of a running)
            kind = _KINDS.get(operation.op.split("_", 1)[-1], operation.op)
            what = operation.target
            out.append(
                (
                    f"action: {op} {kind} {what}",
                    partial(self.kc.run_screen_action, action),
                    _help("asks for confirmation first", [keys]),
                )
            )
        return out

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)  # type: ignore[arg-type]


def _help(text: str, keys: list[str]) -> Content:
    """Help text with its keys in brackets, as plain text: `[x]` is no markup here."""
    return Content(f"{text}  [{' or '.join(keys)}]" if keys else text)
