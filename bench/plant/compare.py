"""Policies compared over seeds: means, the predictive-to-baseline ratio and the gap closed.

The target (issue 20, on the README's seeds 0-9): predictive total cost at most 0.65 x the
better of reactive and preventive, closing at least 88 % of the gap between that baseline and
the oracle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from statistics import mean
from typing import Any

from bench.plant.report import Report

COLUMNS = ("total_cost", "unplanned_failures", "maintenance_count", "on_time_rate")


@dataclass(frozen=True)
class Comparison:
    """Per-policy means over the seeds, and the headline figures when all four ran."""

    seeds: tuple[int, ...]
    means: dict[str, dict[str, float]]
    ratio: float | None
    gap_closed: float | None
    baseline: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seeds": list(self.seeds),
            "policies": {
                p: {k: round(v, 4) for k, v in figures.items()} for p, figures in self.means.items()
            },
            "best_baseline": self.baseline,
            "predictive_ratio": None if self.ratio is None else round(self.ratio, 4),
            "gap_closed": None if self.gap_closed is None else round(self.gap_closed, 4),
        }

    def markdown(self) -> str:
        """The README table: one row per policy, means over the seeds."""
        rows = [
            f"| policy (mean of {len(self.seeds)} seeds) | total cost (€) | unplanned failures "
            "| maintenance | on-time rate | orders/day |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for policy, m in self.means.items():
            rows.append(
                f"| {policy} | {m['total_cost']:,.0f} | {m['unplanned_failures']:.1f} "
                f"| {m['maintenance_count']:.1f} | {m['on_time_rate']:.1%} "
                f"| {m['throughput_per_day']:.1f} |"
            )
        if self.ratio is not None and self.gap_closed is not None:
            rows.append("")
            rows.append(
                f"Predictive costs {self.ratio:.2f} x the better baseline ({self.baseline}) and "
                f"closes {self.gap_closed:.0%} of its gap to the oracle "
                f"(target <= 0.65 and >= 88 %)."
            )
        return "\n".join(rows)


def compare(reports: Sequence[Report]) -> Comparison:
    """Means per policy (in first-seen order) and, with all four policies, the headline."""
    by_policy: dict[str, list[Report]] = {}
    for report in reports:
        by_policy.setdefault(report.policy, []).append(report)
    means = {
        policy: {
            **{c: mean(float(getattr(r, c)) for r in runs) for c in COLUMNS},
            "throughput_per_day": mean(r.throughput_per_day for r in runs),
            **{f"cost_{k}": mean(r.costs[k] for r in runs) for k in runs[0].costs},
        }
        for policy, runs in by_policy.items()
    }
    ratio = gap = None
    baseline = None
    if {"reactive", "preventive", "predictive", "oracle"} <= set(means):
        baseline = min(("reactive", "preventive"), key=lambda p: means[p]["total_cost"])
        best = means[baseline]["total_cost"]
        ours = means["predictive"]["total_cost"]
        ratio = ours / best
        span = best - means["oracle"]["total_cost"]
        gap = (best - ours) / span if span > 0 else None
    seeds = tuple(sorted({r.seed for r in reports}))
    return Comparison(seeds, means, ratio, gap, baseline)
