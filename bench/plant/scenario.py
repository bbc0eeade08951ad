"""The evaluated plant: its size, its order book, and how hard it is loaded.

Machines sit on lines (``sim.layout``); an order is one part flowing through ``ops_per_order``
operations, operation ``k`` on line ``k mod lines``, each eligible on every machine of its line
(flexible routing, so work can move off a risky machine). Machines of a line differ a little in
speed. Orders arrive as a seeded Poisson process whose rate loads the busiest line to
``utilisation``; each is due ``due_slack_hours`` plus ``due_factor`` times its work after it
arrives. Time is integer minutes from the plant start, the scheduler's unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bench.plant.costs import CostModel
from scheduler.config import SchedulerConfig
from sim import MachineSpec, layout


@dataclass(frozen=True)
class EvalConfig:
    """One evaluation scenario; every policy runs the same one.

    The predictive knobs (``replan_hours``, ``solver_seconds`` of CP-SAT deterministic time per
    replan, ``solver_workers``, ``window_hours``, ``crew``, ``risk_p_fail``) only matter to the
    predictive policy. Which machines it maintains is production's rule with production's
    default (``[scheduler] risk_maintenance_p_fail``), not an evaluation-only margin.
    """

    machines: int = 10
    days: int = 90
    seed: int = 0
    utilisation: float = 0.75
    ops_per_order: int = 3
    op_hours: tuple[float, float] = (2.0, 6.0)
    due_slack_hours: float = 24.0
    due_factor: float = 2.0
    holdout_fraction: float = 0.3
    replan_hours: float = 12.0
    solver_seconds: float = 0.2
    solver_workers: int = 1
    window_hours: float = 4.0
    """How long before its last safe start (``rul_low``) a maintenance may begin. The solver
    prices exposed work, not the life a maintenance gives up, so it starts at the window's
    opening: on tuning seeds 100-102, 8 h cost 3-4 maintenances a seed more than 4 h, while 3 h
    and 2 h (too little slack around the 12 h replans) let 2 and 4 machines fail on seed 100."""
    crew: int = 2
    costs: CostModel = field(default_factory=CostModel)
    risk_p_fail: float | None = field(
        default_factory=lambda: SchedulerConfig().risk_maintenance_p_fail
    )
    model_trees: int | None = None
    """Boosting rounds of the predictive policy's model; None: the ``[models]`` default
    (what production trains). Tests shrink it to stay fast."""

    def __post_init__(self) -> None:
        if self.machines < 1:
            raise ValueError(f"the plant needs at least one machine, got {self.machines}")
        if self.days < 1:
            raise ValueError(f"an evaluation runs at least one day, got {self.days}")
        if not 0.0 < self.utilisation < 1.0:
            raise ValueError(f"utilisation must be in (0, 1), got {self.utilisation}")
        if self.ops_per_order < 1:
            raise ValueError(f"an order needs at least one operation, got {self.ops_per_order}")
        low, high = self.op_hours
        if not 0 < low <= high:
            raise ValueError(f"op_hours must be 0 < low <= high, got {self.op_hours}")
        if self.replan_hours <= 0 or self.solver_seconds <= 0:
            raise ValueError("replan_hours and solver_seconds must be positive")
        if self.window_hours <= 0 or self.crew < 1 or self.solver_workers < 1:
            raise ValueError("window_hours > 0, crew >= 1 and solver_workers >= 1 required")
        if self.risk_p_fail is not None and not 0.0 < self.risk_p_fail <= 1.0:
            raise ValueError(f"risk_p_fail must be in (0, 1], got {self.risk_p_fail}")

    @property
    def lines(self) -> int:
        """About three machines a line, at most three lines (10 machines: 4 + 3 + 3)."""
        return max(1, min(3, self.machines // 3))

    @property
    def minutes(self) -> int:
        return self.days * 24 * 60

    def plant_machines(self) -> tuple[MachineSpec, ...]:
        return layout(self.machines, self.lines)


@dataclass(frozen=True)
class Order:
    """One part to make: ``ops[k]`` maps each eligible machine to its minutes for step ``k``."""

    name: str
    arrival: int
    due: int
    ops: tuple[dict[str, int], ...]

    def __post_init__(self) -> None:
        if not self.ops or any(not options for options in self.ops):
            raise ValueError(f"order {self.name} needs operations with eligible machines")
        if self.due < self.arrival:
            raise ValueError(f"order {self.name} is due before it arrives")

    @property
    def work(self) -> int:
        """Minutes of processing on the fastest machines."""
        return sum(min(options.values()) for options in self.ops)


def generate_orders(config: EvalConfig, machines: Sequence[MachineSpec]) -> tuple[Order, ...]:
    """The seeded order book of a run: same seed, same orders, whatever the policy."""
    rng = np.random.default_rng([config.seed, 0x0DE5])
    lines = sorted({m.line for m in machines})
    by_line = {line: [m.id for m in machines if m.line == line] for line in lines}
    speed = {m.id: float(rng.uniform(0.9, 1.1)) for m in machines}
    mean_op = sum(config.op_hours) / 2.0
    ops_on = [
        sum(1 for k in range(config.ops_per_order) if k % len(lines) == i)
        for i in range(len(lines))
    ]
    # Orders per hour that load the busiest line to `utilisation`.
    rate = config.utilisation * min(
        len(by_line[line]) / (count * mean_op)
        for line, count in zip(lines, ops_on, strict=True)
        if count
    )
    orders: list[Order] = []
    t = float(rng.exponential(1.0 / rate)) * 60.0
    while t < config.minutes:
        ops = []
        for k in range(config.ops_per_order):
            hours = float(rng.uniform(*config.op_hours))
            ops.append(
                {m: _quarter(hours * speed[m] * 60.0) for m in by_line[lines[k % len(lines)]]}
            )
        arrival = round(t)
        work = sum(min(options.values()) for options in ops)
        due = arrival + round(config.due_slack_hours * 60 + config.due_factor * work)
        orders.append(Order(f"o-{len(orders) + 1:05d}", arrival, due, tuple(ops)))
        t += float(rng.exponential(1.0 / rate)) * 60.0
    return tuple(orders)


def _quarter(minutes: float) -> int:
    """Durations on a quarter-hour grid, as routings are usually written."""
    return max(15, round(minutes / 15.0) * 15)
