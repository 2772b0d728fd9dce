"""Headline figures from a shim's `GET /metrics` answer, parsed with prometheus-client's
text parser: a handful of numbers an operator looks at first, under stable keys, out of the
hundred-odd samples a sandbox's shim and agent write.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True, slots=True)
class Figure:
    """One headline figure: the value of gauge `family`, of its sample whose `item` label
    is `item` when the family is a vector."""

    key: str
    family: str
    item: str | None = None


#: The headline figures and where they come from, by the names Kata registers them under
#: (Go shim: containerd-shim-v2/shim_metrics.go, virtcontainers/sandbox_metrics.go; agent:
#: src/agent/src/metrics.rs, whose families the shim appends to its own). Units as the
#: writers produce them:
#: - `agent_rss_bytes`: `kata_agent_total_rss`, the agent's stat.rss times the page size.
#: - `guest_mem_*_bytes`: `kata_guest_meminfo{item=mem_total|mem_available|mem_free}`, the
#:   guest's /proc/meminfo, which the agent's procfs crate converts from kB to bytes.
#: - `guest_load1`: `kata_guest_load{item="load1"}`.
#: - `hypervisor_threads`, `hypervisor_fds`: `kata_hypervisor_threads`, `kata_hypervisor_fds`
#:   (the VMM's /proc/<pid>, read by the shim).
#: - `hypervisor_rss_bytes`: `kata_hypervisor_proc_status{item="vmrss"}`, VmRSS in bytes
#:   (Go's procfs converts; the Go runtime is the one that writes this family).
#: - `shim_threads`, `shim_fds`: `kata_shim_threads`, `kata_shim_fds`.
#: - `shim_rss_bytes`: `process_resident_memory_bytes`, the Go shim's own process collector
#:   (the agent's `process_*` families reach us renamed `kata_agent_process_*`). Not
#:   `kata_shim_proc_status{item="vmrss"}`: runtime-rs writes that one in kB.
#: - `pod_overhead_cpu_percent`, `pod_overhead_memory_bytes`: `kata_shim_pod_overhead_cpu`,
#:   `kata_shim_pod_overhead_memory_in_bytes`. The shim samples them after answering a
#:   scrape, so they read 0 until the second one.
#: - `agent_rpc_count`, `agent_rpc_mean_ms`: the `_count` and `_sum` of histogram
#:   `kata_shim_agent_rpc_durations_histogram_milliseconds`, over every RPC (`action`).
#: A family the answer does not carry (an agent without GetMetrics, runtime-rs's shorter
#: list) leaves its key out; so does a NaN or infinite value. Never a 0 that was not read.
FIGURES: tuple[Figure, ...] = (
    Figure("agent_rss_bytes", "kata_agent_total_rss"),
    Figure("guest_mem_total_bytes", "kata_guest_meminfo", "mem_total"),
    Figure("guest_mem_available_bytes", "kata_guest_meminfo", "mem_available"),
    Figure("guest_mem_free_bytes", "kata_guest_meminfo", "mem_free"),
    Figure("guest_load1", "kata_guest_load", "load1"),
    Figure("hypervisor_threads", "kata_hypervisor_threads"),
    Figure("hypervisor_rss_bytes", "kata_hypervisor_proc_status", "vmrss"),
    Figure("hypervisor_fds", "kata_hypervisor_fds"),
    Figure("shim_threads", "kata_shim_threads"),
    Figure("shim_rss_bytes", "process_resident_memory_bytes"),
    Figure("shim_fds", "kata_shim_fds"),
    Figure("pod_overhead_cpu_percent", "kata_shim_pod_overhead_cpu"),
    Figure("pod_overhead_memory_bytes", "kata_shim_pod_overhead_memory_in_bytes"),
)
AGENT_RPC_HISTOGRAM = "kata_shim_agent_rpc_durations_histogram_milliseconds"
#: every key `headline_figures` can return
FIGURE_KEYS: tuple[str, ...] = (
    *(f.key for f in FIGURES),
    "agent_rpc_count",
    "agent_rpc_mean_ms",
)


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def headline_figures(text: str) -> dict[str, float]:
    """`FIGURES` from a Prometheus text answer. Raises `ValueError` (or whatever else the
    parser raises on text it cannot read) with the parser's reason."""
    families: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        families.setdefault(family.name, []).extend(family.samples)
    out: dict[str, float] = {}
    for fig in FIGURES:
        for sample in families.get(fig.family, ()):
            if sample.name == fig.family and (
                fig.item is None or sample.labels.get("item") == fig.item
            ):
                value = _finite(sample.value)
                if value is not None:
                    out[fig.key] = value
                break
    counts = [s.value for s in families.get(AGENT_RPC_HISTOGRAM, ()) if s.name.endswith("_count")]
    sums = [s.value for s in families.get(AGENT_RPC_HISTOGRAM, ()) if s.name.endswith("_sum")]
    count = _finite(sum(counts)) if counts else None
    if count is not None:
        out["agent_rpc_count"] = count
        mean = _finite(sum(sums) / count) if sums and count > 0 else None
        if mean is not None:
            out["agent_rpc_mean_ms"] = mean
    return out
