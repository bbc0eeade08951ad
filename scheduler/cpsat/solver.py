"""`solve()`: a problem in, a `Result` out. Infeasible or timed-out runs are statuses.

Runs on `num_workers` (two by default: both cores of the target host) with a time limit, a
warm start from dispatching rules, and a callback that records when the first plan appeared.
"""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

from scheduler.cpsat.constraints import Constraints
from scheduler.cpsat.explain import explain_infeasible
from scheduler.cpsat.hints import add_hints
from scheduler.cpsat.objective import set_objective
from scheduler.cpsat.variables import Variables
from scheduler.plan import Plan, Result, SolveStatus
from scheduler.plan_builder import build_plan
from scheduler.precheck import precheck
from scheduler.problem import Problem

# Stronger no-overlap propagation: on classic job shops it is what proves ft10 optimal in seconds
# on two workers (the default portfolio stalls at a bound near 810). On flexible shops with many
# optional intervals it slows presolve enough to delay the first plan past 2 s, so it is only
# switched on when every operation has a single eligible machine.
JOB_SHOP_PARAMS: dict[str, object] = {"use_strong_propagation_in_disjunctive": True}

_STATUS = {
    cp_model.OPTIMAL: SolveStatus.OPTIMAL,
    cp_model.FEASIBLE: SolveStatus.FEASIBLE,
    cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
    cp_model.MODEL_INVALID: SolveStatus.MODEL_INVALID,
    cp_model.UNKNOWN: SolveStatus.UNKNOWN,
}


class _FirstSolution(cp_model.CpSolverSolutionCallback):
    """Remembers the wall time of the first plan (the "time to first feasible" figure)."""

    def __init__(self, started: float) -> None:
        super().__init__()
        self.started = started
        self.first: float | None = None

    def on_solution_callback(self) -> None:
        if self.first is None:
            self.first = time.perf_counter() - self.started


def solve(
    problem: Problem,
    time_limit_s: float = 30.0,
    num_workers: int = 2,
    hint: bool = True,
    hint_budget_s: float | None = None,
    log: bool = False,
    **params: object,
) -> Result:
    """Solve `problem`; extra keyword arguments are CP-SAT parameters (e.g. random_seed)."""
    started = time.perf_counter()
    reasons = precheck(problem)
    if reasons:
        return Result(
            SolveStatus.INFEASIBLE,
            None,
            None,
            time.perf_counter() - started,
            explanations=tuple(reasons),
        )
    model = cp_model.CpModel()
    variables = Variables.build(model, problem)
    constraints = Constraints(problem, variables)
    constraints.add_constraints()
    set_objective(problem, variables)
    if hint:
        budget = hint_budget_s if hint_budget_s is not None else min(0.3, time_limit_s / 20)
        add_hints(problem, variables, budget)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(
        0.01, time_limit_s - (time.perf_counter() - started)
    )
    solver.parameters.num_workers = num_workers
    solver.parameters.log_search_progress = log
    classic = all(len(op.options) == 1 for op in problem.operations)
    for name, value in {**(JOB_SHOP_PARAMS if classic else {}), **params}.items():
        setattr(solver.parameters, name, value)
    callback = _FirstSolution(started)
    status = _STATUS.get(solver.solve(model, callback), SolveStatus.UNKNOWN)
    runtime = time.perf_counter() - started
    if status is SolveStatus.INFEASIBLE:
        return Result(
            status,
            None,
            None,
            runtime,
            explanations=tuple(explain_infeasible(problem, min(5.0, time_limit_s))),
        )
    if not status.has_plan:
        return Result(status, None, None, runtime)
    plan = _extract(problem, variables, solver)
    scale = problem.weights.scale
    return Result(
        status,
        solver.objective_value / scale,
        solver.best_objective_bound / scale,
        runtime,
        plan,
        first_solution_seconds=callback.first,
    )


def _extract(problem: Problem, variables: Variables, solver: cp_model.CpSolver) -> Plan:
    ops = {}
    for key, v in variables.ops.items():
        machine = next(
            m
            for m, present in v.presence.items()
            if present is True or solver.boolean_value(present)
        )
        ops[key] = (machine, solver.value(v.start))
    maint = {name: solver.value(mv.start) for name, mv in variables.maint.items()}
    return build_plan(problem, ops, maint)
