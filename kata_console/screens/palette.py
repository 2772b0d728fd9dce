"""Command palette provider: sandboxes, containers, views and actions with their keys.

The palette doubles as a searchable key reference (Dolphie's idea): each action's help
line names the key that does the same thing.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from kata_console.app import KataConsole

#: (title, jump target or action, key, help)
VIEW_COMMANDS = (
    ("view: sandboxes", "sandboxes", ":sandboxes", "the list of sandboxes"),
    ("view: chains", "chains", "C or :chains", "every overlay and erofs mount of the host"),
    ("view: logs", "logs", "L or :logs", "every log line of the source"),
    ("help: keys of this view", "help", "?", "every key of the current view"),
    ("refresh", "reload", "ctrl+r", "reload sandboxes from the source"),
)


class ConsoleCommands(Provider):
    """Everything the console can open or do."""

    @property
    def kc(self) -> KataConsole:
        return cast("KataConsole", self.app)

    def _commands(self) -> list[tuple[str, object, str]]:
        out: list[tuple[str, object, str]] = []
        for title, target, key, help_text in VIEW_COMMANDS:
            out.append((title, partial(self.kc.jump_to, target), f"{help_text}  [{key}]"))
        for sb in self.kc.sandboxes:
            out.append(
                (
                    f"sandbox {sb.id}",
                    partial(self.kc.jump_to, sb.id),
                    f"{sb.state}, {len(sb.containers)} container(s)  [:{sb.id}]",
                )
            )
            for c in sb.containers:
                out.append(
                    (
                        f"container {sb.id}/{c.id}",
                        partial(self.kc.jump_to, f"{sb.id}/{c.id}"),
                        f"{c.state or 'not created'}, rootfs {c.rootfs_kind}  [:{c.id}]",
                    )
                )
        for op, key in (
            ("start", "s"),
            ("stop", "x"),
            ("pause", "u"),
            ("resume", "r"),
            ("kill", "k"),
            ("delete", "ctrl+d"),
        ):
            out.append(
                (
                    f"action: {op} selected container",
                    partial(self.kc.run_screen_action, f"op_{op}"),
                    f"asks for confirmation first  [{key}]",
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
