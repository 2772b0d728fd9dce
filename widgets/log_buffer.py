"""The log pane's model: a bounded buffer of lines with filter, find and wrap, no textual.

Kept apart from the widget (Toolong style) so ingestion, filtering and searching can be
tested and benchmarked without a screen, and so the widget only ever asks "what is on
row y". Lines beyond `max_lines` are dropped oldest-first and counted; a filter hides
lines (over the whole retained buffer, never only the tail), find only marks them. With
`show_scope` (the all-logs view) each line also shows its sandbox and container, and
`set_scope` keeps only the lines of one sandbox or container.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from kata_console.sources.model import LogLine

DEFAULT_MAX_LINES = 10_000
#: width of the source column (`engine`, `agent`, `stdout` ...)
SOURCE_WIDTH = 6
#: ids longer than this are shown by their first SHORT_ID characters (docker's short ids)
LONG_ID = 16
SHORT_ID = 12


def _short(value: str) -> str:
    return value[:SHORT_ID] if len(value) > LONG_ID else value


def scope_label(line: LogLine) -> str:
    """`sandbox/container`, `sandbox`, or `-` for a line of neither (long ids shortened)."""
    sandbox, container = line.sandbox_id, line.container_id
    if sandbox is None:
        return f"-/{_short(container)}" if container else "-"
    return _short(sandbox) + (f"/{_short(container)}" if container else "")


def in_scope(line: LogLine, scope: str) -> bool:
    """`scope` is `sandbox`, `sandbox/container` or a container id; each part is a prefix
    of the id (so the shortened ids the view shows can be typed back)."""
    if not scope:
        return True
    sandbox, container = line.sandbox_id or "", line.container_id or ""
    want, slash, want_container = scope.partition("/")
    if slash:
        return sandbox.startswith(want) and bool(container) and container.startswith(want_container)
    return sandbox.startswith(want) or (bool(container) and container.startswith(want))


@dataclass(slots=True)
class Entry:
    """A retained line: its arrival number (stable across drops) and its display text."""

    seq: int
    line: LogLine
    body: str  # "source  text": what find and filter search
    scope: str = ""  # `sandbox/container` (shown only with `show_scope`)

    def stamp(self) -> str:
        return self.line.time.strftime("%H:%M:%S.%f")[:-3]


class LogBuffer:
    """Bounded lines + the filtered view + find matches + wrapped rows."""

    def __init__(self, max_lines: int = DEFAULT_MAX_LINES) -> None:
        if max_lines < 1:
            raise ValueError("max_lines must be at least 1")
        self.max_lines = max_lines
        self._entries: deque[Entry] = deque(maxlen=max_lines)
        self._seq = 0
        #: lines dropped because the buffer was full
        self.dropped = 0
        #: of those, lines never stored (evicted by the same write that brought them)
        self.skipped = 0
        self._filter = ""
        self._find = ""
        self._scope = ""
        #: show each line's sandbox/container (the all-logs view)
        self.show_scope = False
        #: width of the scope column: the widest label seen (grows, never shrinks, so
        #: the text column does not jump back and forth)
        self.scope_width = 0
        self.visible: list[Entry] = []
        #: indexes into `visible` of lines that contain the find term
        self.matches: list[int] = []
        self.timestamps = True
        self.wrap_width: int | None = None
        #: (visible index, start, end) per display row when wrapping
        self._rows: list[tuple[int, int, int]] = []
        #: widest display line, for horizontal scrolling
        self.max_width = 0
        #: visible lines dropped from the front by the last `extend` (indexes shifted by it)
        self.last_trim = 0
        #: the scope column grew since the owner last looked (it resets this)
        self.widened = False

    # ------------------------------------------------------------------ ingestion

    def extend(self, lines: Iterable[LogLine]) -> int:
        """Append lines (oldest first); returns how many became visible."""
        full = self._entries.maxlen or 0
        accepted = 0
        widened = False
        for line in lines:
            if len(self._entries) == full:
                self.dropped += 1
            body = f"{line.source:<{SOURCE_WIDTH}} {line.text}"
            entry = Entry(self._seq, line, body, scope_label(line))
            if self.show_scope and len(entry.scope) > self.scope_width:
                self.scope_width = len(entry.scope)
                widened = True
            self._seq += 1
            self._entries.append(entry)
            if self._accepts(entry):
                self.visible.append(entry)
                accepted += 1
        self._trim()
        if widened:  # every row's prefix grew: wrapped rows and widths change
            self._reindex()
            self.widened = True
            return accepted
        accepted = min(accepted, len(self.visible))
        base = len(self.visible) - accepted
        self._index(self.visible[base:], base)
        return accepted

    def skip(self, count: int) -> None:
        """Account for `count` lines that arrived but were dropped before being stored
        (the writer saw they would be evicted by the same batch)."""
        self.dropped += count
        self.skipped += count
        self._seq += count

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[Entry]:
        """Every retained entry, oldest first."""
        return list(self._entries)

    # ------------------------------------------------------------------ filter / find

    @property
    def filter(self) -> str:
        return self._filter

    @property
    def find(self) -> str:
        return self._find

    @property
    def scope(self) -> str:
        return self._scope

    def set_scope(self, scope: str) -> None:
        """Keep only lines of this sandbox / `sandbox/container` / container ("": all)."""
        self._scope = scope.strip()
        self.visible = [e for e in self._entries if self._accepts(e)]
        self._reindex()

    def scopes(self) -> list[str]:
        """Every sandbox and `sandbox/container` of the retained lines, for completion."""
        seen: dict[str, None] = {}
        for e in self._entries:
            sandbox, container = e.line.sandbox_id, e.line.container_id
            if sandbox:
                seen.setdefault(sandbox, None)
                if container:
                    seen.setdefault(f"{sandbox}/{container}", None)
        return list(seen)

    def set_filter(self, term: str) -> None:
        """Hide lines that do not contain `term` (case-insensitive); "" shows all."""
        self._filter = term
        self.visible = [e for e in self._entries if self._accepts(e)]
        self._reindex()

    def set_find(self, term: str) -> None:
        """Mark lines containing `term` (case-insensitive); "" clears the marks."""
        self._find = term
        self._reindex()

    def next_match(self, index: int | None, backwards: bool = False) -> int | None:
        """The visible index of the match after (or before) `index`, wrapping around."""
        if not self.matches:
            return None
        if index is None:
            return self.matches[-1] if backwards else self.matches[0]
        if backwards:
            pos = bisect.bisect_left(self.matches, index) - 1
            return self.matches[pos] if pos >= 0 else self.matches[-1]
        pos = bisect.bisect_right(self.matches, index)
        return self.matches[pos] if pos < len(self.matches) else self.matches[0]

    # ------------------------------------------------------------------ rows

    def set_layout(self, *, timestamps: bool, wrap_width: int | None) -> None:
        """Timestamp column on/off; wrap at this width (None: one row per line)."""
        self.timestamps = timestamps
        self.wrap_width = wrap_width if wrap_width and wrap_width > 8 else None
        self._reindex()

    def display(self, entry: Entry) -> str:
        """The full display text of a line (prefix + body)."""
        scope = f"{entry.scope:<{self.scope_width}} " if self.show_scope else ""
        stamp = f"{entry.stamp()} " if self.timestamps else ""
        return f"{stamp}{scope}{entry.body}"

    @property
    def row_count(self) -> int:
        return len(self._rows) if self.wrap_width else len(self.visible)

    def row(self, y: int) -> tuple[int, int, int | None]:
        """(visible index, start, end) of display row y (end None: to the end)."""
        if self.wrap_width:
            return self._rows[y]
        return y, 0, None

    def first_row_of(self, index: int) -> int:
        """Display row where visible line `index` starts."""
        if not self.wrap_width:
            return index
        return bisect.bisect_left(self._rows, (index, -1, -1))

    def text_of(self, entries: Iterable[Entry] | None = None) -> str:
        """Plain text of lines (default: the visible ones), for save and copy."""
        chosen = self.visible if entries is None else entries
        if self.show_scope:
            return "".join(f"{e.line.time.isoformat()} {e.scope} {e.body}\n" for e in chosen)
        return "".join(f"{e.line.time.isoformat()} {e.body}\n" for e in chosen)

    @property
    def prefix_width(self) -> int:
        """Cells before a line's body: the timestamp and the scope column."""
        width = 13 if self.timestamps else 0
        return width + (self.scope_width + 1 if self.show_scope else 0)

    # ------------------------------------------------------------------ helpers

    def _accepts(self, entry: Entry) -> bool:
        if self._scope and not in_scope(entry.line, self._scope):
            return False
        return not self._filter or self._filter.lower() in entry.body.lower()

    def _trim(self) -> None:
        """Drop visible entries that fell out of the bounded buffer."""
        self.last_trim = 0
        if not self._entries or not self.visible:
            return
        oldest = self._entries[0].seq
        if self.visible[0].seq >= oldest:
            return
        cut = bisect.bisect_left([e.seq for e in self.visible], oldest)
        del self.visible[:cut]
        self.last_trim = cut
        self.matches = [m - cut for m in self.matches if m >= cut]
        if self.wrap_width:
            first = bisect.bisect_left(self._rows, (cut, -1, -1))
            self._rows = [(i - cut, s, e) for i, s, e in self._rows[first:]]

    def _reindex(self) -> None:
        self.matches = []
        self._rows = []
        self.max_width = 0
        self._index(self.visible, 0)

    def _index(self, added: list[Entry], base: int) -> None:
        term = self._find.lower()
        width = self.wrap_width
        prefix = self.prefix_width
        for offset, entry in enumerate(added):
            i = base + offset
            if term and term in entry.body.lower():
                self.matches.append(i)
            length = prefix + len(entry.body)
            self.max_width = max(self.max_width, length)
            if width:
                for start in range(0, max(length, 1), width):
                    self._rows.append((i, start, min(start + width, length)))
