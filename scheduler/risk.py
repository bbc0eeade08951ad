"""Risk scores become maintenance tasks (ARCHITECTURE.md, "Risk scores become scheduling
constraints", rule 1).

Pure: a problem in, a problem with the risk-driven maintenance added out. The other rules
(expected failure cost, no work past predicted failure) live in the backend's constraints and
objective, keyed on the same `reset_task` so both sides agree which task clears the risk.
"""

from __future__ import annotations

from dataclasses import replace

from scheduler.problem import MachineRisk, MaintenanceTask, Problem


def with_risk_maintenance(
    problem: Problem,
    duration: int = 120,
    cost: float = 100.0,
    *,
    within: int | None = None,
    p_fail: float | None = None,
) -> Problem:
    """Add a maintenance task due by `rul_low` for every machine at risk (:func:`needs_maintenance`;
    `within` defaults to the horizon) that is not offline and has no maintenance planned yet."""
    window = problem.horizon if within is None else min(within, problem.horizon)
    planned = {task.machine for task in problem.maintenance}
    planned |= {m.name for m in problem.machines if m.offline}  # no maintenance while offline
    added = [
        MaintenanceTask(
            name=f"maint-{risk.machine}",
            machine=risk.machine,
            duration=duration,
            deadline=risk.rul_low,
            cost=cost,
            cause=risk.describe(),
        )
        for risk in problem.risks
        if needs_maintenance(risk, window, p_fail) and risk.machine not in planned
    ]
    if not added:
        return problem
    return replace(problem, maintenance=(*problem.maintenance, *added))


def needs_maintenance(risk: MachineRisk, within: int, p_fail: float | None = None) -> bool:
    """Rule 1: a predicted failure (`rul_low`) within `within` units (the horizon, unless a site
    narrows it to the machines it calls at risk) must be pre-empted by maintenance; so must a
    failure probability of at least `p_fail`, when given."""
    if p_fail is not None and risk.p_fail >= p_fail:
        return True
    return risk.rul_low is not None and risk.rul_low < within


def reset_task(problem: Problem, machine: str) -> MaintenanceTask | None:
    """The maintenance task that clears `machine`'s risk: the first one planned on it."""
    return next((t for t in problem.maintenance if t.machine == machine), None)


def failure_cost(problem: Problem, machine: str, job: str, duration: int) -> float:
    """Expected failure cost (unweighted) of `duration` units of `job` on an unmaintained
    `machine`: hazard x duration x job value; zero on a machine without risk."""
    risk = problem.risk(machine)
    if risk is None:
        return 0.0
    return risk.rate * duration * problem.job(job).value
