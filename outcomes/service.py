"""One call for the API, the dashboard and the report: read the history, compute the figures
per group and per day/week/month, and the counterfactual."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from millwright.core.storage.database import Database
from outcomes.config import OutcomesConfig
from outcomes.counterfactual import Counterfactual, counterfactual
from outcomes.figures import Figures, Group, outcome_figures
from outcomes.store import read_history

BUCKETS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
MAX_BUCKETS = 400
"""A trend keeps its last this many buckets (a century of weeks would be no chart)."""


@dataclass(frozen=True)
class OutcomesResult:
    start: datetime
    end: datetime
    group: Group
    figures: list[Figures]
    trend: list[Figures]
    """Plant figures per bucket (day, week or month) across the period."""
    bucket: str
    counterfactual: Counterfactual | None

    def as_dict(self) -> dict[str, Any]:
        cf = self.counterfactual
        return {
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "group": self.group.value,
            "figures": [f.as_dict() for f in self.figures],
            "bucket": self.bucket,
            "trend": [
                {k: v for k, v in f.as_dict().items() if k != "failure_list"} for f in self.trend
            ],
            "counterfactual": None
            if cf is None
            else {
                "actual": cf.actual,
                "reactive": cf.reactive.__dict__,
                "preventive": cf.preventive.__dict__,
                "preventive_interval_hours": cf.preventive_interval_hours,
                "lives_complete": cf.lives_complete,
                "lives_censored": cf.lives_censored,
                "assumptions": list(cf.assumptions),
            },
        }


def compute_outcomes(
    database: Database,
    config: OutcomesConfig,
    start: datetime,
    end: datetime,
    *,
    group: Group = Group.PLANT,
    bucket: str | None = None,
) -> OutcomesResult:
    """The figures of ``[start, end)``; ``bucket`` defaults to day up to two weeks, week up
    to a year, month beyond."""
    if end <= start:
        raise ValueError(f"'to' ({end.isoformat()}) must come after 'from' ({start.isoformat()}).")
    span = end - start
    if bucket is None:
        bucket = "day" if span <= timedelta(days=14) else "week"
        if span > timedelta(days=365):
            bucket = "month"
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(BUCKETS)}, got {bucket!r}.")
    history = read_history(database, end)
    costs = config.cost_model()
    horizon = timedelta(hours=config.alert_horizon_hours)
    figures = outcome_figures(history, start, end, group=group, costs=costs, horizon=horizon)
    trend = []
    step = BUCKETS[bucket]
    at = max(start, end - step * MAX_BUCKETS)
    while at < end:
        upto = min(at + step, end)
        trend.extend(outcome_figures(history, at, upto, costs=costs, horizon=horizon))
        at = upto
    cf = counterfactual(list(history.stops), start, end, len(history.machines), costs)
    return OutcomesResult(start, end, group, figures, trend, bucket, cf)
