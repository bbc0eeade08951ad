"""The predictive policy: health scores in, a risk-aware CP-SAT plan out, orders to the plant.

Every ``replan_hours`` (and right after any failure, so work leaves the broken machine) it
scores every running machine from its sensor history, builds the scheduling problem
(:mod:`bench.plant.planning`), solves it briefly, submits the plan's maintenance as
plant orders (one order id per machine life, so a replan moves it) and hands the shop the plan's
routing. Solves are short and deterministic: a deterministic-time limit, the EDD warm start
only, no LP relaxation (scheduling models rarely gain from it) and one search worker by
default: CP-SAT's parallel portfolio is not reproducible, and its deterministic interleaved
mode was four times slower on the evaluation's problems. When the solver returns no plan, each
needed maintenance is ordered at its last safe start and the shop falls back to EDD.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

from bench.plant.health import HealthModel
from bench.plant.planning import PlanningRules, build_problem
from bench.plant.policies import MINUTE, PlantView
from bench.plant.shop import Assignment
from scheduler.cpsat import solve
from sim import Event, EventKind, MachineState, MaintenanceOrder, Plant

WALL_LIMIT_S = 30.0
"""A safety net only: the deterministic-time budget ends a solve well before it, even on a
loaded host (at 5 s a busy two-core machine could cut a solve short and change the figures)."""


class Predictive:
    """Millwright's loop: models -> risk-aware scheduler -> maintenance orders and routing."""

    name = "predictive"

    def __init__(
        self, model: HealthModel, rules: PlanningRules, solver_seconds: float, workers: int = 1
    ) -> None:
        self.model = model
        self.rules = rules
        self.solver_seconds = solver_seconds
        self.workers = workers
        self.plan: Assignment | None = None
        self._next = 0
        self._figures = {"replans": 0.0, "solver_calls": 0.0, "solver_seconds": 0.0, "no_plan": 0.0}

    def next_wakeup(self) -> int | None:
        return self._next

    def stats(self) -> dict[str, float]:
        return dict(self._figures)

    def step(self, view: PlantView, events: Sequence[Event]) -> None:
        failed = any(e.kind is EventKind.FAILURE for e in events)
        if view.now >= self._next or failed:
            self._replan(view)
            self._next = view.now + self.rules.replan_minutes

    def _replan(self, view: PlantView) -> None:
        plant, now = view.plant, view.now
        self._figures["replans"] += 1
        running = [s.machine for s in plant.statuses() if s.state is MachineState.RUNNING]
        scores = self.model.score({m: plant.history(m) for m in running})
        built = build_problem(view.shop, now, _busy_until(view), scores, self.rules)
        problem = built.problem
        starts = {m: now + s for m, s in built.latest_start.items()}
        self.plan = None
        if problem.maintenance or problem.risks:
            started = time.perf_counter()
            result = solve(
                problem,
                time_limit_s=WALL_LIMIT_S,
                num_workers=self.workers,
                hint_budget_s=0.0,
                max_deterministic_time=self.solver_seconds,
                linearization_level=0,
            )
            self._figures["solver_calls"] += 1
            self._figures["solver_seconds"] += time.perf_counter() - started
            if result.plan is None:
                self._figures["no_plan"] += 1
            else:
                starts = {m.machine: now + m.start for m in result.plan.maintenance}
                self.plan = {
                    built.steps[(o.job, o.seq)]: (o.machine, now + o.start)
                    for o in result.plan.operations
                }
        _order_maintenance(view, plant, running, starts)


def _busy_until(view: PlantView) -> dict[str, int]:
    """Plant minute each machine is free again: after its operation, repair or maintenance."""
    plant, timing = view.plant, view.plant.timing
    busy = {}
    for status in plant.statuses():
        if status.state is MachineState.DOWN:
            busy[status.machine] = view.minutes(status.since + timing.repair)
        elif status.state is MachineState.MAINTENANCE:
            busy[status.machine] = view.minutes(status.since + timing.maintenance)
        elif (run := view.shop.running(status.machine)) is not None:
            busy[status.machine] = run.end
    return busy


def _order_maintenance(
    view: PlantView, plant: Plant, running: Sequence[str], starts: dict[str, int]
) -> None:
    """Submit (or move) this life's order where planned; withdraw it where no longer needed."""
    for machine in running:
        life = math.floor((plant.status(machine).life_started - view.start) / MINUTE)
        order_id = f"predictive-{machine}-{life}"
        if machine in starts:
            plant.submit(MaintenanceOrder(machine, view.at(starts[machine]), order_id))
        else:
            plant.cancel(order_id)
