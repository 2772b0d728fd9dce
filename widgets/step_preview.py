"""The next step, exactly as the engine describes it before it runs.

`RPC StartContainer{container_id="c1"}` or `hotplug block drive-... (virtio-scsi 0:2)
file=.../layer.erofs ro` is the text of the engine's `step.held` event: what the operator
approves with a key is what runs. A phase badge says whether it is held, running, or
whether the plan runs freely, finished or was aborted.
"""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widget import Widget

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
    """Phase badge, the step text (wrapped, never cut), and a line of context."""

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
        parts: list[Content] = [Content.styled(badge, style)]
        if self.step:
            parts.append(Content("\n"))
            parts.append(Content.styled(self.step, "bold"))
        if self.detail:
            parts.append(Content("\n"))
            parts.append(Content.styled(self.detail, "$text-muted"))
        return Content.assemble(*parts)
