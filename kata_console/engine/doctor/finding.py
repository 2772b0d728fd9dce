"""A finding: one thing wrong on a Kata node, with what was read to conclude it, the text
Kata itself logs for it (when it has one) and what to do about it.

Plain data with a stable `to_dict()` (the `doctor --json` contract), shared by the CLI and
the console.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ERROR, WARNING, INFO = "error", "warning", "info"
#: worst first; the rank is what `--severity` and sorting compare
SEVERITIES = (ERROR, WARNING, INFO)
_RANK = {s: i for i, s in enumerate(SEVERITIES)}


def rank(severity: str) -> int:
    """0 for the worst severity; unknown severities sort last."""
    return _RANK.get(severity, len(SEVERITIES))


def at_least(severity: str, threshold: str) -> bool:
    """Whether `severity` is as bad as `threshold` or worse."""
    return rank(severity) <= rank(threshold)


@dataclass(slots=True)
class Finding:
    """`id` names the rule (stable, for scripts and suppressions); `sandbox`, `container`
    and `device` name what it concerns (None when it concerns none: an orphan loop);
    `evidence` the exact files, pids, mount ids and devices read."""

    id: str
    severity: str
    title: str
    sandbox: str | None = None
    container: str | None = None
    device: str | None = None
    evidence: list[str] = field(default_factory=list)
    kata_error: str | None = None
    fix: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "severity": self.severity,
            "sandbox": self.sandbox,
            "container": self.container,
            "device": self.device,
            "title": self.title,
            "evidence": list(self.evidence),
            "kata_error": self.kata_error,
            "fix": self.fix,
        }

    def sort_key(self) -> tuple[int, str, str, str, str, str]:
        return (
            rank(self.severity),
            self.sandbox or "",
            self.container or "",
            self.device or "",
            self.id,
            self.title,
        )


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    """Findings per severity, every severity present (a badge shows zeros too)."""
    counts = dict.fromkeys(SEVERITIES, 0)
    for f in findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    return counts
