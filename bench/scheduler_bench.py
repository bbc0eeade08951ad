"""Plant-scale and disruption benchmark of issue 15 (`millwright bench scheduler`).

A generated risk-aware plant (`plant_problem`) is solved with the product's `solve` beside the
earliest-due-date dispatching rule, scored under the same objective. With a disruption, the
plant is first planned (same limit), then disrupted at the start of that plan with the frozen
window in force, and the figures are those of the replan: the down window is checked empty,
frozen work outside it unchanged, and the operations moved counted.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from bench.scheduler_instances import plant_problem
from scheduler import disruption as edits
from scheduler.cpsat import solve
from scheduler.cpsat.repair import MAX_LOSS
from scheduler.dispatch import dispatch_plan
from scheduler.plan import Result, Tradeoff
from scheduler.problem import Job, Operation, Problem
from scheduler.settle import settle
from scheduler.stability import changes
from scheduler.validate import hard_violations

DISRUPTIONS = ("breakdown", "offline", "overdue", "rush")
BREAKDOWN = ("M0", 30, 510)  # machine, start, end: the case of the issue


def disrupted(problem: Problem, kind: str) -> Problem:
    """`problem` (already carrying its previous plan) after disruption `kind`."""
    if kind == "breakdown":
        return edits.breakdown(problem, *BREAKDOWN)
    if kind == "offline":
        return edits.offline(problem, "M0")  # M0 also carries a risk score
    ops = len(problem.job_operations(problem.jobs[0].name))
    machines = [m.name for m in problem.machines]
    options = [{machines[(3 * s + k) % len(machines)]: 30 for k in range(2)} for s in range(ops)]
    if kind == "overdue":  # released two days ago, due yesterday (a wall clock behind)
        job = Job("OVERDUE", release=-2880, due=-1440, weight=2)
    elif kind == "rush":
        job = Job("RUSH", release=0, due=30 * ops + 120, weight=5, value=2.0)
    else:
        raise ValueError(f"unknown disruption {kind!r}; expected one of {DISRUPTIONS}")
    operations = tuple(Operation(job.name, s, o) for s, o in enumerate(options))
    return edits.rush(problem, job, operations)


def plant_bench(
    jobs: int,
    ops: int,
    machines: int,
    time_limit_s: float,
    num_workers: int = 2,
    seed: int = 0,
    disruption: str | None = None,
    scope: str = "affected",
    stability_weight: float | None = None,
    max_loss: float | None = MAX_LOSS,
) -> dict[str, Any]:
    """Figures of one run: status, first plan, objective against dispatch, seconds per phase.

    A replan after a disruption moves what `scope` allows (`scheduler.cpsat.solve`): with
    `pinned`, `moved_operations` does not exceed `affected_operations` (the previous plan's
    work the disruption contradicts, with its jobs' later steps) and `moved_beyond_affected`
    is 0; with `affected`, `moved_beyond_affected` counts what the repair resequenced (put on
    another machine or at another place in its machine's list) because the plan gained more
    than the stability term charged, `shifted_beyond_affected` what it only moved in time
    (same machine, same place in the list), `changed_beyond_affected` both. `objective`
    includes that term (the plan-change costs), `production_objective` is the same plan
    without it; both also for dispatch, which replans from scratch. `tradeoff` is the repair's
    stable plan against re-dispatching in production (`scheduler.plan.Tradeoff`); the stable
    plan gives way past `max_loss` (`[scheduler] replan_max_loss`; None: never)."""
    problem = plant_problem(jobs, ops, machines, seed)
    if stability_weight is not None:  # `[scheduler] weight_moved`
        problem = replace(problem, weights=replace(problem.weights, moved=stability_weight))
    figures: dict[str, Any] = {"jobs": jobs, "ops": ops, "machines": machines, "seed": seed}
    figures["time_limit_s"] = time_limit_s
    if disruption is not None:
        first = solve(problem, time_limit_s, num_workers)
        assert first.plan is not None, f"no first plan: {first.status} {first.reason}"
        figures["before"] = _figures(problem, first, 0.0)
        problem = disrupted(edits.replan_of(problem, first.plan), disruption)
        figures["disruption"] = disruption
        figures["scope"] = scope
        figures["stability_weight"] = problem.weights.moved
        figures["max_loss"] = max_loss
    started = time.perf_counter()
    result = solve(problem, time_limit_s, num_workers, scope=scope, max_loss=max_loss)
    wall = time.perf_counter() - started
    figures.update(_figures(problem, result, wall))
    if disruption is not None and result.plan is not None:
        figures.update(_disruption_checks(problem, result, disruption))
    return figures


def _figures(problem: Problem, result: Result, wall: float) -> dict[str, Any]:
    settled = settle(problem).problem
    started = time.perf_counter()
    edd = dispatch_plan(settled, "edd")
    edd_s = time.perf_counter() - started
    ours = None if result.objective is None else round(result.objective, 1)
    theirs = round(edd.costs["total"], 1)
    production = None
    if result.plan is not None:
        production = round(result.plan.costs["total"] - result.plan.costs["change"], 1)
    dispatch_production = round(edd.costs["total"] - edd.costs["change"], 1)
    return {
        "status": result.status.value,
        "reason": result.reason,
        "first_plan_s": None
        if result.first_solution_seconds is None
        else round(result.first_solution_seconds, 3),
        "objective": ours,
        "bound": None if result.bound is None else round(result.bound, 1),
        "dispatch_objective": theirs,
        "dispatch_s": round(edd_s, 3),
        "dispatch_valid": not hard_violations(settled, edd),
        "improvement_pct": None if ours is None else round(100 * (theirs - ours) / theirs, 2),
        "production_objective": production,
        "dispatch_production_objective": dispatch_production,
        "production_improvement_pct": None
        if production is None
        else round(100 * (dispatch_production - production) / dispatch_production, 2),
        "stability_cost": None if result.plan is None else round(result.plan.costs["change"], 1),
        "wall_s": round(wall, 3),
        "moved_operations": result.moved_operations,
        "affected_operations": result.affected_operations,
        "released": len(result.released),
        "unplaced": len(result.unplaced),
        "phases": result.phases,
        "costs": None if result.plan is None else result.plan.costs,
        "tradeoff": None if result.tradeoff is None else _tradeoff(result.tradeoff),
    }


def _tradeoff(tradeoff: Tradeoff) -> dict[str, Any]:
    loss = tradeoff.loss
    return {
        "stable_production_objective": round(tradeoff.stable, 1),
        "stable_resequenced": tradeoff.stable_resequenced,
        "redispatch_production_objective": round(tradeoff.redispatch, 1),
        "stable_loss_pct": None if loss is None else round(100 * loss, 2),
        "chosen": tradeoff.chosen,
    }


def _disruption_checks(problem: Problem, result: Result, kind: str) -> dict[str, Any]:
    assert result.plan is not None
    plan = result.plan
    checks: dict[str, Any] = {}
    if kind == "breakdown":
        machine, start, end = BREAKDOWN
        checks["window_empty"] = all(
            o.end <= start or o.start >= end for o in plan.machine_schedule(machine)
        )
    if kind == "offline":
        checks["window_empty"] = plan.machine_schedule("M0") == []
    released = {tuple(n.split(" ")[1].rsplit("/", 1)) for n in result.released}
    placed = {(o.job, o.seq): (o.machine, o.start) for o in plan.operations}
    unchanged = [
        placed.get(key) == (p.machine, p.start)
        for key, p in problem.frozen().items()
        if (key[0], str(key[1])) not in released
    ]
    checks["frozen_outside_unchanged"] = all(unchanged)
    affected = edits.affected_operations(problem)
    checks["new_operations"] = sum(
        1 for op in problem.operations if problem.planned(op.key) is None
    )
    changed = changes(problem.previous, plan, affected)
    checks["resequenced_operations"] = len(changed.resequenced)
    checks["shifted_operations"] = len(changed.shifted)
    # Beyond the affected work (what the disruption contradicts, its jobs' later steps, new
    # orders): `moved_beyond_affected` counts only work that changed machine or its place in
    # its machine's list (resequenced); work that kept both and only starts at another time
    # is `shifted_beyond_affected`.
    checks["moved_beyond_affected"] = len(changed.resequenced - affected)
    checks["shifted_beyond_affected"] = len(changed.shifted - affected)
    shifts = sorted(abs(placed[k][1] - problem.planned(k).start) for k in changed.shifted)  # type: ignore[union-attr]
    checks["shifted_minutes_median"] = shifts[len(shifts) // 2] if shifts else 0
    checks["shifted_minutes_max"] = shifts[-1] if shifts else 0
    checks["changed_beyond_affected"] = sum(
        1
        for p in problem.previous
        if p.key not in affected and placed.get(p.key) != (p.machine, p.start)
    )
    horizon = problem.weights.moved_horizon  # work due this soon weighs at least half
    checks["moved_due_soon"] = sum(
        1
        for p in problem.previous
        if p.start < horizon and placed.get(p.key) != (p.machine, p.start)
    )
    checks["previous_due_soon"] = sum(1 for p in problem.previous if p.start < horizon)
    checks["frozen"] = len(problem.frozen())
    checks["previous_operations"] = len(problem.previous)
    return checks
