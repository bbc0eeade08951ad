"""Outcome figures from what actually happened: pure functions, no I/O.

For a period ``[start, end)`` and a group (one machine, one line, the plant):

- availability: 1 − stopped machine-hours / machine-hours; unplanned (failure until repaired)
  and planned (maintenance) downtime hours, each stop clipped to the period;
- MTBF: running machine-hours / failures; MTTR: mean repair hours of the period's failures;
- recall: failures with an alert opened in the ``horizon`` before them; lead time: failure −
  first such alert (median and 10th percentile, linear interpolation);
- false-alarm rate: alerts followed, within the horizon, by neither a failure nor a maintenance
  that found wear, over the alerts opened in the period;
- maintenance done vs planned: a planned task is a machine's run of plans placing maintenance
  before its next maintenance; it is done when that maintenance happened;
- orders: on-time rate of the orders due in the period (open ones late by the period's end);
- scrap: the parts a failure in the period scrapped (booked with that failure's cost);
- cost by category, booked on the shared :class:`~outcomes.costs.Ledger`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from outcomes.costs import CostModel, Ledger
from outcomes.records import AlertRecord, History, OrderRecord, PlannedTask, Stop, StopKind


class Group(enum.StrEnum):
    MACHINE = "machine"
    LINE = "line"
    PLANT = "plant"


@dataclass(frozen=True)
class FailureOutcome:
    """One failure: its first alert in the horizon before it (None: missed), lead and cost."""

    machine: str
    at: datetime
    repair_hours: float
    alerted_at: datetime | None
    lead_hours: float | None
    cost: float


@dataclass(frozen=True)
class Figures:
    """The outcome figures of one group over one period."""

    group: str
    start: datetime
    end: datetime
    machines: int
    machine_hours: float
    availability: float
    unplanned_downtime_hours: float
    planned_downtime_hours: float
    failures: int
    mtbf_hours: float | None
    mttr_hours: float | None
    predicted_failures: int
    recall: float | None
    lead_time_median_hours: float | None
    lead_time_p10_hours: float | None
    alerts: int
    false_alarms: int
    false_alarm_rate: float | None
    maintenance_planned: int
    maintenance_done: int
    orders_due: int
    orders_on_time: int
    on_time_rate: float | None
    lateness_hours: float
    scrapped_parts: int = 0
    costs: dict[str, float] = field(default_factory=dict)
    failure_list: tuple[FailureOutcome, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "failure_list"}
        out["start"], out["end"] = self.start.isoformat(), self.end.isoformat()
        out["failure_list"] = [
            {
                "machine": f.machine,
                "at": f.at.isoformat(),
                "repair_hours": f.repair_hours,
                "alerted_at": f.alerted_at.isoformat() if f.alerted_at else None,
                "lead_hours": f.lead_hours,
                "cost": f.cost,
            }
            for f in self.failure_list
        ]
        return out


def outcome_figures(
    history: History,
    start: datetime,
    end: datetime,
    *,
    group: Group = Group.PLANT,
    costs: CostModel | None = None,
    horizon: timedelta = timedelta(hours=72),
) -> list[Figures]:
    """The figures per machine, per line or for the plant (sorted by group name)."""
    if end <= start:
        raise ValueError(f"the period must end after it starts ({start} .. {end}).")
    costs = costs or CostModel()
    keys: dict[str, set[str]] = {}
    for machine, line in history.machines.items():
        key = {Group.MACHINE: machine, Group.LINE: line, Group.PLANT: "plant"}[group]
        keys.setdefault(key, set()).add(machine)
    return [
        _figures(name, members, history, start, end, costs, horizon)
        for name, members in sorted(keys.items())
    ]


def _figures(
    name: str,
    members: set[str],
    history: History,
    start: datetime,
    end: datetime,
    costs: CostModel,
    horizon: timedelta,
) -> Figures:
    stops = [s for s in history.stops if s.machine in members]
    alerts = [a for a in history.alerts if a.machine in members]
    scraps: dict[tuple[str, datetime], list[float]] = {}
    for scrap in history.scrapped:
        if scrap.machine in members:
            scraps.setdefault((scrap.machine, scrap.at), []).append(scrap.processed_minutes)
    ledger = Ledger(costs)
    period_hours = (end - start).total_seconds() / 3600.0
    machine_hours = period_hours * len(members)
    unplanned = planned = 0.0
    failure_list: list[FailureOutcome] = []
    for stop in sorted(stops, key=lambda s: (s.start, s.machine)):
        if not start <= stop.start < end:
            overlap = _overlap_hours(stop, start, end)  # a stop begun before: its downtime only
            if overlap > 0:
                ledger.stopped(round(overlap * 60))
                if stop.kind is StopKind.FAILURE:
                    unplanned += overlap
                else:
                    planned += overlap
            continue
        down_minutes = round(_overlap_hours(stop, start, end) * 60)
        before = ledger.total
        if stop.kind is StopKind.FAILURE:
            ledger.failure(down_minutes)
            for minutes in scraps.get((stop.machine, stop.start), ()):
                ledger.scrapped(minutes)
            unplanned += down_minutes / 60.0
            first = _first_alert(alerts, stop, horizon)
            failure_list.append(
                FailureOutcome(
                    stop.machine,
                    stop.start,
                    stop.hours,
                    first.opened_at if first else None,
                    _hours(stop.start - first.opened_at) if first else None,
                    ledger.total - before,
                )
            )
        else:
            ledger.maintained(down_minutes)
            planned += down_minutes / 60.0
    failures = len(failure_list)
    leads = sorted(f.lead_hours for f in failure_list if f.lead_hours is not None)
    opened = [a for a in alerts if start <= a.opened_at < end]
    false = [a for a in opened if not _confirmed(a, stops, horizon)]
    done, planned_tasks = _maintenance_done(history.planned, stops, members, start, end)
    orders = [o for o in history.orders if start <= o.due_at < end and _touches(o, members)]
    on_time, lateness = _orders(orders, end, ledger)
    running_hours = machine_hours - unplanned - planned
    return Figures(
        group=name,
        start=start,
        end=end,
        machines=len(members),
        machine_hours=machine_hours,
        availability=(running_hours / machine_hours) if machine_hours else 0.0,
        unplanned_downtime_hours=unplanned,
        planned_downtime_hours=planned,
        failures=failures,
        mtbf_hours=running_hours / failures if failures else None,
        mttr_hours=float(np.mean([f.repair_hours for f in failure_list])) if failures else None,
        predicted_failures=len(leads),
        recall=len(leads) / failures if failures else None,
        lead_time_median_hours=float(np.median(leads)) if leads else None,
        lead_time_p10_hours=float(np.percentile(leads, 10)) if leads else None,
        alerts=len(opened),
        false_alarms=len(false),
        false_alarm_rate=len(false) / len(opened) if opened else None,
        maintenance_planned=planned_tasks,
        maintenance_done=done,
        orders_due=len(orders),
        orders_on_time=on_time,
        on_time_rate=on_time / len(orders) if orders else None,
        lateness_hours=lateness,
        scrapped_parts=ledger.scrapped_parts,
        costs=ledger.by_category(),
        failure_list=tuple(failure_list),
    )


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600.0


def _overlap_hours(stop: Stop, start: datetime, end: datetime) -> float:
    return max(0.0, _hours(min(stop.end, end) - max(stop.start, start)))


def _first_alert(
    alerts: Iterable[AlertRecord], stop: Stop, horizon: timedelta
) -> AlertRecord | None:
    since = stop.start - horizon
    before = [a for a in alerts if a.machine == stop.machine and since <= a.opened_at <= stop.start]
    return min(before, key=lambda a: a.opened_at, default=None)


def _confirmed(alert: AlertRecord, stops: Iterable[Stop], horizon: timedelta) -> bool:
    """A failure, or a maintenance that found wear, followed within the horizon."""
    return any(
        s.machine == alert.machine
        and alert.opened_at <= s.start <= alert.opened_at + horizon
        and (s.kind is StopKind.FAILURE or s.found_wear)
        for s in stops
    )


def _maintenance_done(
    planned: Iterable[PlannedTask],
    stops: list[Stop],
    members: set[str],
    start: datetime,
    end: datetime,
) -> tuple[int, int]:
    """(done, planned). The placements of one machine made before its next stop are one
    planned task (replanning moves it, it stays one); it is done when that stop is a
    maintenance. Tasks count in the period their plans were made in."""
    done = count = 0
    for machine in sorted(members):
        made = sorted(t.planned_at for t in planned if t.machine == machine)
        after = sorted(s.start for s in stops if s.machine == machine)
        kinds = {s.start: s.kind for s in stops if s.machine == machine}
        tasks: dict[datetime | None, datetime] = {}  # closing stop → first placement
        for at in made:
            closing = next((t for t in after if t >= at), None)
            tasks.setdefault(closing, at)
        for closing, first in tasks.items():
            if start <= first < end:
                count += 1
                if closing is not None and closing < end and kinds[closing] is StopKind.MAINTENANCE:
                    done += 1
    return done, count


def _touches(order: OrderRecord, members: set[str]) -> bool:
    return not order.machines or bool(members & set(order.machines))


def _orders(orders: list[OrderRecord], end: datetime, ledger: Ledger) -> tuple[int, float]:
    on_time, lateness = 0, 0.0
    for order in orders:
        finished = order.finished_at if order.finished_at is not None else end
        late_minutes = max(0, round((finished - order.due_at).total_seconds() / 60))
        if order.finished_at is not None and late_minutes == 0:
            on_time += 1
        ledger.late(late_minutes)
        lateness += late_minutes / 60.0
    return on_time, lateness
