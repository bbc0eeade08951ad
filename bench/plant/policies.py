"""Maintenance policies and the view of the plant they act through.

A policy sees the plant (status, sensor history, and for the oracle alone the ground truth) and
the shop, submits or cancels maintenance orders, and may hand the shop a routing plan. The run
calls :meth:`Policy.step` after every change and wakes the policy at :meth:`Policy.next_wakeup`.
Reactive, preventive and oracle live here; the predictive policy has its own module.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bench.plant.shop import Assignment, Shop
from sim import Event, MachineState, MaintenanceOrder, Plant

MINUTE = timedelta(minutes=1)


@dataclass
class PlantView:
    """The plant and shop of one run, with plant-time <-> minutes conversion."""

    plant: Plant
    shop: Shop
    start: datetime

    def at(self, minutes: int) -> datetime:
        return self.start + minutes * MINUTE

    def minutes(self, when: datetime) -> int:
        """Whole minutes since the start, rounded up so advancing there fires the event."""
        return math.ceil((when - self.start) / MINUTE)

    @property
    def now(self) -> int:
        return self.minutes(self.plant.now)


class Policy(Protocol):
    """What the run needs from a maintenance policy."""

    name: str

    def step(self, view: PlantView, events: Sequence[Event]) -> None:
        """React to the plant's latest events and the current time (submit/cancel orders)."""
        ...

    def next_wakeup(self) -> int | None:
        """Plant minute at which the policy wants to act even if nothing happens."""
        ...

    @property
    def plan(self) -> Assignment | None:
        """Routing the shop should follow, if the policy plans production."""
        ...

    def stats(self) -> dict[str, float]:
        """Policy-specific figures for the report (e.g. solver calls)."""
        ...


class Reactive:
    """Run to failure; the plant repairs a failed machine on its own."""

    name = "reactive"
    plan: Assignment | None = None

    def step(self, view: PlantView, events: Sequence[Event]) -> None:
        return None

    def next_wakeup(self) -> int | None:
        return None

    def stats(self) -> dict[str, float]:
        return {}


class _OncePerLife:
    """Submits one maintenance order per life, at a time ``when`` picks for that life."""

    plan: Assignment | None = None

    def __init__(self, name: str, when: Callable[[Plant, str], datetime]) -> None:
        self.name = name
        self._when = when
        self._ordered: dict[str, datetime] = {}

    def step(self, view: PlantView, events: Sequence[Event]) -> None:
        plant = view.plant
        for status in plant.statuses():
            if status.state is not MachineState.RUNNING:
                continue
            if self._ordered.get(status.machine) == status.life_started:
                continue
            self._ordered[status.machine] = status.life_started
            planned = max(self._when(plant, status.machine), plant.now)
            life = int((status.life_started - view.start) / MINUTE)
            plant.submit(
                MaintenanceOrder(status.machine, planned, f"{self.name}-{status.machine}-{life}")
            )

    def next_wakeup(self) -> int | None:
        return None

    def stats(self) -> dict[str, float]:
        return {}


def preventive(interval_cycles: int) -> _OncePerLife:
    """Maintain every machine when its life reaches ``interval_cycles`` (age replacement)."""

    def when(plant: Plant, machine: str) -> datetime:
        return plant.status(machine).life_started + plant.timing.cycle * interval_cycles

    return _OncePerLife("preventive", when)


def oracle(lead_cycles: float = 1.0) -> _OncePerLife:
    """Maintain ``lead_cycles`` before the true failure: what perfect foresight achieves."""

    def when(plant: Plant, machine: str) -> datetime:
        failure_at = plant.ground_truth(machine).failure_at
        assert failure_at is not None, "ground truth of a running machine has a failure time"
        return failure_at - plant.timing.cycle * lead_cycles

    return _OncePerLife("oracle", when)


def tune_interval(
    lives: Sequence[int],
    failure_cost: float,
    planned_cost: float,
    repair_cycles: float,
    maintenance_cycles: float,
) -> int:
    """The age (cycles) minimising the long-run cost rate of age replacement on ``lives``.

    Renewal-reward on the empirical life distribution: each life ends in a failure (cost and
    repair time) if it is shorter than the interval T, else in planned maintenance at T; the rate
    is total cost over total time. Ties go to the longer interval.
    """
    if not lives:
        raise ValueError("tuning the preventive interval needs at least one training life")
    best: tuple[float, int] | None = None
    for interval in range(1, max(lives) + 1):
        cost = time = 0.0
        for life in lives:
            if life <= interval:
                cost += failure_cost
                time += life + repair_cycles
            else:
                cost += planned_cost
                time += interval + maintenance_cycles
        rate = cost / time
        if best is None or rate <= best[0]:
            best = (rate, interval)
    assert best is not None
    return best[1]
