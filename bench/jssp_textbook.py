"""The textbook CP-SAT job-shop model (the OR-Tools tutorial's), kept as the benchmark's
baseline: one interval per operation, precedences, a no-overlap per machine, minimise the
makespan, default parameters, no warm start."""

from __future__ import annotations

import time

from ortools.sat.python import cp_model

from bench.jssp_instances import JsspInstance
from scheduler.cpsat.solver import _STATUS
from scheduler.plan import Result, SolveStatus


def solve_textbook(instance: JsspInstance, time_limit_s: float, num_workers: int = 2) -> Result:
    """Makespan by the tutorial model; the Result carries no plan, only the figures."""
    started = time.perf_counter()
    model = cp_model.CpModel()
    horizon = sum(d for ops in instance.jobs for _, d in ops)
    per_machine: dict[int, list[cp_model.IntervalVar]] = {}
    ends = []
    for j, ops in enumerate(instance.jobs):
        previous_end = None
        for s, (machine, duration) in enumerate(ops):
            start = model.new_int_var(0, horizon, f"s{j}_{s}")
            end = model.new_int_var(0, horizon, f"e{j}_{s}")
            per_machine.setdefault(machine, []).append(
                model.new_interval_var(start, duration, end, f"i{j}_{s}")
            )
            if previous_end is not None:
                model.add(start >= previous_end)
            previous_end = end
        assert previous_end is not None
        ends.append(previous_end)
    for intervals in per_machine.values():
        model.add_no_overlap(intervals)
    makespan = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(makespan, ends)
    model.minimize(makespan)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = num_workers
    status = _STATUS.get(solver.solve(model), SolveStatus.UNKNOWN)
    runtime = time.perf_counter() - started
    if not status.has_plan:
        return Result(status, None, None, runtime)
    return Result(status, solver.objective_value, solver.best_objective_bound, runtime)
