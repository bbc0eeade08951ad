"""What a reactive or a fixed-interval policy would have cost on the same period.

Estimated with the plant's own failure history: the machines' observed lives (from the end of
one stop to the start of the next; a life ended by maintenance is censored there) give a
Kaplan–Meier survival curve, and renewal-reward turns it into a long-run cost rate per
machine-hour:

- reactive: every life runs to failure, cost = repair + downtime, cycle = mean life + repair;
- preventive: maintain at age T (the T minimising the rate on the curve), else fail first.

The rate times the period's machine-hours is the cost; the interval is the 10th–90th
percentile over bootstrap resamples of the lives. Stated assumptions travel with the numbers
(:attr:`Counterfactual.assumptions`): the first life of each machine (begun before the
history) is left out, the survival curve ends at the longest life seen, and tardiness and
scrap are not part of the comparison.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from outcomes.costs import CostModel
from outcomes.records import Stop, StopKind

ASSUMPTIONS = (
    "lives are the running spans between stops; one ended by maintenance is censored",
    "the first life of each machine began before the history and is left out",
    "survival is the Kaplan–Meier curve of those lives, ending at the longest life seen",
    "failure and maintenance cost their unit cost plus the mean observed stop hours of downtime",
    "tardiness and scrap are left out of the comparison (they depend on the schedule)",
)


@dataclass(frozen=True)
class Estimate:
    cost: float
    low: float
    high: float


@dataclass(frozen=True)
class Counterfactual:
    """Actual cost (failures, maintenance, downtime) beside two policies' estimates."""

    actual: float
    reactive: Estimate
    preventive: Estimate
    preventive_interval_hours: float
    lives_complete: int
    lives_censored: int
    assumptions: tuple[str, ...] = ASSUMPTIONS


@dataclass(frozen=True)
class Life:
    hours: float
    failed: bool


def observed_lives(stops: Sequence[Stop], until: datetime) -> list[Life]:
    """Each machine's lives after its first stop: to a failure (complete), a maintenance or
    ``until`` (censored)."""
    lives = []
    by_machine: dict[str, list[Stop]] = {}
    for stop in stops:
        by_machine.setdefault(stop.machine, []).append(stop)
    for machine_stops in by_machine.values():
        ordered = sorted(machine_stops, key=lambda s: s.start)
        for previous, nxt in zip(ordered, [*ordered[1:], None], strict=True):
            began = previous.end
            ended = nxt.start if nxt is not None else until
            hours = (ended - began).total_seconds() / 3600.0
            if hours > 0:
                lives.append(Life(hours, nxt is not None and nxt.kind is StopKind.FAILURE))
    return lives


def survival(lives: Sequence[Life]) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier: (times, S just after each time), times sorted, S(0) = 1 implied."""
    hours = np.array([life.hours for life in lives])
    failed = np.array([life.failed for life in lives])
    times = np.unique(hours)
    surv = []
    s = 1.0
    for t in times:
        at_risk = int(np.sum(hours >= t))
        deaths = int(np.sum((hours == t) & failed))
        if at_risk:
            s *= 1.0 - deaths / at_risk
        surv.append(s)
    return times, np.array(surv)


def _area(times: np.ndarray, surv: np.ndarray, upto: float) -> float:
    """∫0^upto S(t) dt for the step function."""
    area, last_t, last_s = 0.0, 0.0, 1.0
    for t, s in zip(times, surv, strict=True):
        if t >= upto:
            break
        area += last_s * (t - last_t)
        last_t, last_s = t, s
    return area + last_s * (upto - last_t)


def _s_at(times: np.ndarray, surv: np.ndarray, t: float) -> float:
    index = np.searchsorted(times, t, side="right") - 1
    return 1.0 if index < 0 else float(surv[index])


def cost_rates(
    lives: Sequence[Life], failure_cost: float, planned_cost: float, repair_h: float, maint_h: float
) -> tuple[float, float, float]:
    """(reactive €/machine-hour, preventive €/machine-hour, preventive interval hours)."""
    times, surv = survival(lives)
    longest = float(times[-1])
    mean_life = _area(times, surv, longest)
    reactive = failure_cost / (mean_life + repair_h)
    best = (reactive, longest)
    for t in times:
        s = _s_at(times, surv, float(t))
        cost = (1 - s) * failure_cost + s * planned_cost
        cycle = _area(times, surv, float(t)) + (1 - s) * repair_h + s * maint_h
        if cycle > 0 and cost / cycle < best[0]:
            best = (cost / cycle, float(t))
    return reactive, best[0], best[1]


def counterfactual(
    stops: Sequence[Stop],
    start: datetime,
    end: datetime,
    machines: int,
    costs: CostModel,
    *,
    resamples: int = 200,
    seed: int = 0,
) -> Counterfactual | None:
    """The comparison for ``[start, end)`` on ``machines`` machines, from all ``stops`` known
    (lives before the period inform the curve); None with fewer than two observed failures."""
    lives = observed_lives(stops, end)
    complete = sum(1 for life in lives if life.failed)
    if complete < 2:
        return None
    failures = [s for s in stops if s.kind is StopKind.FAILURE]
    maintained = [s for s in stops if s.kind is StopKind.MAINTENANCE]
    repair_h = float(np.mean([s.hours for s in failures]))
    maint_h = float(np.mean([s.hours for s in maintained])) if maintained else repair_h / 4
    failure_cost = costs.repair + costs.downtime_per_hour * repair_h
    planned_cost = costs.maintenance + costs.downtime_per_hour * maint_h
    machine_hours = machines * (end - start).total_seconds() / 3600.0
    reactive, preventive, interval = cost_rates(
        lives, failure_cost, planned_cost, repair_h, maint_h
    )
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(resamples):
        picked = [lives[i] for i in rng.integers(0, len(lives), len(lives))]
        if sum(1 for life in picked if life.failed) == 0:
            continue
        r, p, _t = cost_rates(picked, failure_cost, planned_cost, repair_h, maint_h)
        samples.append((r, p))
    boot = np.array(samples) * machine_hours
    in_period = [s for s in stops if start <= s.start < end]
    actual = 0.0
    for stop in in_period:
        unit = costs.repair if stop.kind is StopKind.FAILURE else costs.maintenance
        hours = (min(stop.end, end) - stop.start).total_seconds() / 3600.0
        actual += unit + costs.downtime_per_hour * hours
    return Counterfactual(
        actual=actual,
        reactive=Estimate(
            reactive * machine_hours,
            float(np.percentile(boot[:, 0], 10)),
            float(np.percentile(boot[:, 0], 90)),
        ),
        preventive=Estimate(
            preventive * machine_hours,
            float(np.percentile(boot[:, 1], 10)),
            float(np.percentile(boot[:, 1], 90)),
        ),
        preventive_interval_hours=interval,
        lives_complete=complete,
        lives_censored=len(lives) - complete,
    )
