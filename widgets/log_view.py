"""A line-rendered log view over a `LogBuffer`: sources coloured, find matches highlighted.

Only visible rows are rendered (ScrollView + render_line, with an LRU of strips), so
10,000 retained lines cost what 40 do. Follow is a reactive: any scroll up by the user
turns it off; `follow_end()` (End) turns it on and jumps to the last line.
"""

from __future__ import annotations

from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from widgets.log_buffer import SOURCE_WIDTH, LogBuffer

#: source -> style of its column; unknown sources are dim
SOURCE_STYLES: dict[str, str] = {
    "engine": "bold cyan",
    "agent": "bold magenta",
    "stdout": "bold green",
    "stderr": "bold yellow",
    "console": "bold blue",
}
LEVEL_STYLES: dict[str, str] = {"error": "red", "warning": "yellow", "debug": "dim"}


class LogView(ScrollView, can_focus=True):
    """Renders the rows of a LogBuffer; the owning LogPane feeds it and owns the keys."""

    BINDINGS = [
        # ScrollView binds End to a plain scroll; here End also turns follow back on
        Binding("end", "follow_end", "Follow", id="log.follow", show=False),
    ]

    COMPONENT_CLASSES = {"logview--match", "logview--current", "logview--stamp", "logview--scope"}
    """Find matches, the current match, the timestamp column, the sandbox/container column."""

    DEFAULT_CSS = """
    LogView {
        height: 1fr;
        background: $surface;
        & > .logview--match { background: $warning 40%; }
        & > .logview--current { background: $warning; color: $background; text-style: bold; }
        & > .logview--stamp { color: $text-muted; }
        & > .logview--scope { color: $text-accent; }
    }
    """

    follow: reactive[bool] = reactive(True)
    """Keep the last line in view as lines arrive."""

    class FollowChanged(Message):
        """Follow was turned on or off (handled by `on_log_view_follow_changed`)."""

        def __init__(self, view: LogView, follow: bool) -> None:
            super().__init__()
            self.view = view
            self.follow = follow

    def __init__(self, buffer: LogBuffer, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.buffer = buffer
        #: visible index of the current find match
        self.current: int | None = None
        self._cache: LRUCache[tuple[int, int, int, int, bool], Strip] = LRUCache(1024)
        self._wrap = False
        self._base_style = Style()

    # ------------------------------------------------------------------ public API

    @property
    def wrap(self) -> bool:
        return self._wrap

    def relayout(self, *, wrap: bool | None = None) -> None:
        """Rebuild rows after a filter, find, wrap or timestamp change."""
        if wrap is not None:
            self._wrap = wrap
        width = self.scrollable_content_region.width if self._wrap else None
        self.buffer.set_layout(timestamps=self.buffer.timestamps, wrap_width=width or None)
        self.rows_changed(restyle=True)

    def rows_changed(self, *, restyle: bool = False) -> None:
        """Rows were appended (or, with `restyle`, every row may look different): resize,
        repaint, keep following."""
        if restyle:
            self._cache.clear()
        width = 0 if self._wrap else self.buffer.max_width
        self.virtual_size = Size(width, self.buffer.row_count)
        if self.follow:
            # before the first layout the height is 0: scroll once it is known; `force`
            # because the scrollbar that allows scrolling appears only at the next layout
            laid_out = self.size.height > 0
            self.scroll_end(animate=False, immediate=laid_out, force=laid_out, x_axis=False)
        self.refresh()

    def follow_end(self) -> None:
        """Turn follow on and jump to the last line."""
        self.follow = True
        self.scroll_end(animate=False, x_axis=False)

    def action_follow_end(self) -> None:
        self.follow_end()

    def goto(self, index: int) -> None:
        """Bring visible line `index` to the middle of the view (turns follow off)."""
        self.follow = False
        self.current = index
        row = self.buffer.first_row_of(index)
        self.scroll_to(y=max(0, row - self.size.height // 2), animate=False, immediate=True)
        self.refresh()

    # ------------------------------------------------------------------ textual hooks

    def watch_follow(self, follow: bool) -> None:
        self.post_message(self.FollowChanged(self, follow))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.follow and new_value < old_value and round(new_value) < self.max_scroll_y:
            self.follow = False

    def watch_show_horizontal_scrollbar(self, shown: bool) -> None:
        """A long line brought a horizontal scrollbar: the view lost a row, so a following
        view must scroll to the end again or the newest line hides under the bar."""
        if shown and self.follow:
            self.call_after_refresh(self.scroll_end, animate=False, x_axis=False)

    def on_resize(self) -> None:
        """A smaller view has more to scroll: a following view would be left where the
        old bottom was, several lines above the newest one, still saying it follows."""
        if self._wrap:
            self.relayout()
        if self.follow:
            self.call_after_refresh(self._keep_following)

    def render_lines(self, crop: Region) -> list[Strip]:
        # `rich_style` walks the ancestors: compute it once per frame, not once per line
        self._base_style = self.rich_style
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = y + scroll_y
        width = self.scrollable_content_region.width
        base = self._base_style
        if row >= self.buffer.row_count:
            return Strip.blank(width, base)
        index, start, _ = self.buffer.row(row)
        # keyed by the line's arrival number, so appending and trimming keep the cache
        key = (self.buffer.visible[index].seq, start, scroll_x, width, index == self.current)
        strip = self._cache.get(key)
        if strip is None:
            strip = self._render_row(row, base).crop_extend(scroll_x, scroll_x + width, base)
            self._cache[key] = strip
        return strip

    # ------------------------------------------------------------------ helpers

    def _keep_following(self) -> None:
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    def _render_row(self, row: int, base: Style) -> Strip:
        buffer = self.buffer
        index, start, end = buffer.row(row)
        entry = buffer.visible[index]
        line = entry.line
        stamp = self.get_component_rich_style("logview--stamp") if buffer.timestamps else None
        source_style = _style(SOURCE_STYLES.get(line.source, "dim"))
        level_style = _style(LEVEL_STYLES.get(line.level, ""))
        source = f"{line.source:<{SOURCE_WIDTH}} "
        scope = f"{entry.scope:<{buffer.scope_width}} " if buffer.show_scope else ""
        scope_style = self.get_component_rich_style("logview--scope") if scope else None
        if not buffer.find and end is None and not start:
            # the common case (following a stream): a few segments, no Text round trip
            segments = [
                Segment(source, base + source_style),
                Segment(line.text, base + level_style),
            ]
            if scope_style is not None:
                segments.insert(0, Segment(scope, base + scope_style))
            if stamp is not None:
                segments.insert(0, Segment(entry.stamp() + " ", base + stamp))
            return Strip(segments)
        text = Text(no_wrap=True, end="")
        if stamp is not None:
            text.append(entry.stamp() + " ", stamp)
        if scope_style is not None:
            text.append(scope, scope_style)
        text.append(source, source_style)
        text.append(line.text, level_style)
        if buffer.find:
            style_name = "logview--current" if index == self.current else "logview--match"
            match = self.get_component_rich_style(style_name)
            offset = len(text.plain) - len(entry.body)
            body = entry.body.lower()
            term = buffer.find.lower()
            pos = body.find(term)
            while pos >= 0:
                text.stylize(match, offset + pos, offset + pos + len(term))
                pos = body.find(term, pos + len(term))
        if end is not None or start:
            text = text[start:end]
        segments = [
            Segment(seg.text, base + seg.style if seg.style else base)
            for seg in text.render(self.app.console)
        ]
        return Strip(segments, text.cell_len)


@lru_cache(maxsize=64)
def _style(definition: str) -> Style:
    return Style.parse(definition) if definition else Style()
