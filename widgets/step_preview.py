"""The next step, exactly as the engine describes it before it runs.

`RPC StartContainer{container_id="c1"}` or `hotplug block drive-... (virtio-scsi 0:2)
file=.../layer.erofs ro` is the text of the engine's `step.held` event: what the operator
approves with a key is what runs. A phase badge says whether it is held, running, or
whether the plan runs freely, finished or was aborted.

The text is wrapped where it can be read: at spaces, else after a `,` `=` `{` `/` (facts_panel's
`line_spans`); a word is split only when nothing else fits. When the pane is short the line of context (its
last part: the key that runs the step) keeps its row and the step text is cut with `…`;
the timeline and the log have it whole once it ran.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

from widgets.facts_panel import line_spans

#: where a step's text may break besides a space: after these (not `_`: `container_id`
#: and `exec_id` stay whole; after `{`: `CreateContainer{` ends a line)
STEP_BREAKS = "/-.,:;={"

#: phase -> (badge, style)
PHASES: dict[str, tuple[str, str]] = {
    "starting": (" STARTING ", "bold $text on $primary"),
    "held": (" NEXT STEP ", "bold $text on $warning"),
    "running": (" RUNNING ", "bold $text on $accent"),
    "free": (" RUNNING FREELY ", "bold $text on $accent"),
    "finished": (" FINISHED ", "bold $text on $success"),
    "failed": (" FINISHED ", "bold $text on $error"),
    "aborted": (" ABORTED ", "bold $text on $error"),
}


class StepPreview(Widget):
    """Phase badge, the step text (wrapped at readable places), and a line of context."""

    DEFAULT_CSS = """
    StepPreview {
        height: auto;
        min-height: 4;
        padding: 0 1;
    }
    """

    phase: reactive[str] = reactive("starting")
    """starting | held | running | free | finished | failed | aborted."""
    step: reactive[str] = reactive("")
    """The step text as the engine gave it ("" when there is none)."""
    detail: reactive[str] = reactive("")
    """Context under the step: which op it belongs to, what the keys do."""

    def show(self, phase: str, step: str = "", detail: str = "") -> None:
        """Set everything at once (one refresh)."""
        self.phase, self.step, self.detail = phase, step, detail

    def render(self) -> Content:
        badge, style = PHASES.get(self.phase, (f" {self.phase.upper()} ", "bold"))
        width, rows = self.size
        step, detail = self._fit(max(width, 1), rows)
        parts: list[Content] = [Content.styled(badge, style)]
        for line in step:
            parts += [Content("\n"), Content.styled(line, "bold")]
        for line in detail:
            parts += [Content("\n"), Content.styled(line, "$text-muted")]
        return Content.assemble(*parts)

    # ------------------------------------------------------------------ helpers

    def _fit(self, width: int, rows: int) -> tuple[list[str], list[str]]:
        """(step lines, detail lines) that fit `rows` under the badge (rows <= 0: all)."""
        step = wrap(self.step, width) if self.step else []
        parts = self.detail.split(" · ") if self.detail else []
        detail = wrap_parts(parts, width)
        if rows <= 0:
            return step, detail
        room = rows - 1
        # the context gives up its first parts (the op: the op list's cursor shows it)
        # before the step text gives up a line
        while len(parts) > 1 and len(step) + len(detail) > room:
            parts.pop(0)
            detail = wrap_parts(parts, width)
        if len(step) + len(detail) > room and len(detail) > 1:
            detail = [ellipsis(detail[0], width)]  # the step text comes first
        if len(step) + len(detail) > room and self.phase == "failed":
            detail = []  # what failed comes before the count of what ran
        if len(step) + len(detail) > room:
            keep = max(1 if step else 0, room - len(detail))
            if keep < len(step):
                step = [*step[: keep - 1], ellipsis(step[keep - 1], width)] if keep else []
            detail = detail[: max(0, room - len(step))]
        return step, detail


def ellipsis(line: str, width: int) -> str:
    """`line` ending in `…` (there was more), within `width` cells."""
    while line and cell_len(line) + 1 > width:
        line = line[:-1]
    return line + "…"


def wrap_parts(parts: list[str], width: int) -> list[str]:
    """`a · b · c` on as few lines as whole parts allow (a part wider than a line wraps)."""
    lines: list[str] = []
    for part in parts:
        if lines and cell_len(f"{lines[-1]} · {part}") <= width:
            lines[-1] = f"{lines[-1]} · {part}"
        else:
            lines += wrap(part, width)
    return lines


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` cells, broken at spaces, else after `STEP_BREAKS`."""
    return [
        paragraph[a:b]
        for paragraph in text.splitlines() or [""]
        for a, b in line_spans(paragraph, width, STEP_BREAKS)
    ]
