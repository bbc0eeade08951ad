"""The shop and the health scores now, as a risk-aware scheduling problem (pure).

Each replan builds a :class:`scheduler.problem.Problem` in minutes from now:

- jobs are the most urgent open orders, their remaining steps the operations (the running step
  is not replanned: it makes its machine unavailable and the job's next step wait);
- a machine that is running, down or in maintenance is unavailable until it is free;
- every scored machine with a meaningful ``p_fail`` becomes a :class:`MachineRisk`, so work on
  it carries expected failure cost and moves to healthier machines of its line when it pays;
- which machines get a maintenance task is production's rule, :func:`scheduler.risk.
  needs_maintenance`, with its two knobs as ``[scheduler]`` has them: ``rul_low`` within
  ``within`` (here the next replan plus its window: later needs wait for a fresher
  prediction) or, when ``p_fail`` is set, ``p_fail`` at or above it. No margin is taken off
  ``rul_low``: what is evaluated is what ships. A task may start between ``window`` before its
  last safe start and that start, ``rul_low`` itself (sooner, within the window, when ``p_fail``
  alone asked for it); its deadline is that start plus the task's length because in the plant
  a machine stops ageing once maintenance starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from bench.plant.health import HealthScore
from bench.plant.shop import Shop
from scheduler.objective_weights import ObjectiveWeights
from scheduler.problem import (
    Job,
    Machine,
    MachineRisk,
    MaintenanceTask,
    Operation,
    Problem,
)
from scheduler.risk import needs_maintenance

MIN_P_FAIL = 0.01
"""Below this a machine is treated as healthy (no risk record, no expected failure cost)."""


@dataclass(frozen=True)
class PlanningRules:
    """Minutes and euros the problem is built with (from the scenario and the cost model)."""

    cycle_minutes: float
    maintenance_minutes: int
    replan_minutes: int
    window_minutes: int
    risk_window_minutes: int
    crew: int
    failure_cost: float
    planned_cost: float
    tardiness_per_minute: float
    max_orders: int
    p_fail: float | None = None
    """Production's ``risk_maintenance_p_fail``: this p_fail alone also asks for maintenance."""

    @property
    def within_minutes(self) -> int:
        """A ``rul_low`` sooner than this asks for a task now (production's ``within``)."""
        return self.replan_minutes + self.window_minutes


@dataclass(frozen=True)
class Built:
    """The problem, and how to read its answer back: job step -> (order, step)."""

    problem: Problem
    steps: dict[tuple[str, int], tuple[str, int]]
    latest_start: dict[str, int]
    """Per machine with a maintenance task: its last safe start, minutes from now."""


def build_problem(
    shop: Shop,
    now: int,
    busy_until: Mapping[str, int],
    scores: Mapping[str, HealthScore],
    rules: PlanningRules,
) -> Built:
    """The problem at ``now``; ``busy_until`` gives, per machine, plant minutes it is not free."""
    free_at = {m: max(0, busy_until.get(m, now) - now) for m in shop.machines}
    machines = tuple(Machine(m, ((0, free_at[m]),) if free_at[m] else ()) for m in shop.machines)
    jobs, operations, steps = [], [], {}
    for job in shop.open_jobs()[: rules.max_orders]:
        running = shop.running_step(job)
        first = job.next_seq + 1 if running else job.next_seq
        remaining = range(first, len(job.order.ops))
        if not remaining:
            continue
        release = running[1].end - now if running else 0
        name = job.order.name
        jobs.append(Job(name, release=release, due=job.order.due - now))
        for seq, step in enumerate(remaining):
            operations.append(Operation(name, seq, dict(job.order.ops[step])))
            steps[(name, seq)] = (name, step)
    risks, tasks, latest = [], [], {}
    for machine, score in sorted(scores.items()):
        risk = MachineRisk(
            machine,
            p_fail=min(score.p_fail, 0.999),
            rul_low=max(0, round(score.rul_low * rules.cycle_minutes)),
            window=rules.risk_window_minutes,
        )
        if needs_maintenance(risk, rules.within_minutes, rules.p_fail):
            assert risk.rul_low is not None
            if risk.rul_low < rules.within_minutes:
                latest[machine] = risk.rul_low
            else:  # p_fail alone: maintain within the coming window
                latest[machine] = min(risk.rul_low, rules.window_minutes)
            tasks.append(
                MaintenanceTask(
                    name=f"maint-{machine}",
                    machine=machine,
                    duration=rules.maintenance_minutes,
                    release=max(0, latest[machine] - rules.window_minutes),
                    deadline=latest[machine] + rules.maintenance_minutes,
                    cost=rules.planned_cost,
                    cause=(
                        f"rul_low {score.rul_low:.0f} cycles, p_fail {score.p_fail:.2f}: "
                        f"start by +{latest[machine]} min"
                    ),
                )
            )
            risks.append(replace(risk, rul_low=latest[machine]))
        elif score.p_fail >= MIN_P_FAIL:
            risks.append(replace(risk, rul_low=None))
    work = sum(max(op.options.values()) for op in operations)
    start_bound = max(
        [*free_at.values(), *(j.release for j in jobs), *(t.release for t in tasks)], default=0
    )
    horizon = start_bound + work + len(tasks) * rules.maintenance_minutes + 1
    horizon = max([horizon, *(t.deadline + 1 for t in tasks if t.deadline is not None)])
    weights = ObjectiveWeights(
        tardiness=rules.tardiness_per_minute,
        maintenance=1.0,
        expected_failure=rules.failure_cost,
        makespan=0.1,
        maintenance_late=rules.failure_cost / 60.0,
        change=0.0,
        change_machine=0.0,
    )
    problem = Problem(
        machines=machines,
        jobs=tuple(jobs),
        operations=tuple(operations),
        horizon=horizon,
        maintenance=tuple(tasks),
        risks=tuple(risks),
        crew_size=rules.crew,
        weights=weights,
    )
    return Built(problem, steps, latest)
