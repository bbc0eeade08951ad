"""Ending a search early: on a stop signal (a worker's SIGTERM) or when it stops improving.

A long solve must not hold a stopping worker for its whole limit, and a small plant's repair
must not spend 30 s confirming a plan it found in one. Every solve here, the neighbourhood
search's steps included, is watched by `stop_signal.stopping` (CP-SAT returns its best
solution as at the limit); patience needs a look at the progress, so with `patience_s` the
neighbourhood search runs in short slices between which the gain is checked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection

from ortools.sat.python import cp_model

from scheduler.cpsat import lns
from scheduler.cpsat.stop_signal import stopping
from scheduler.cpsat.variables import OpKey, Variables
from scheduler.problem import Problem

SLICE_S = 1.5  # neighbourhood search between two looks at the stop signal and the progress
MIN_GAIN = 1e-4  # a relative gain below this is no progress


def improve(
    problem: Problem,
    variables: Variables,
    incumbent: lns.Incumbent,
    deadline: float,
    num_workers: int,
    seed: int = 0,
    focus: Collection[OpKey] = (),
    stop: threading.Event | None = None,
    patience_s: float | None = None,
) -> tuple[lns.Incumbent, int]:
    """`lns.improve` until `deadline` or `stop`, or, with `patience_s`, in slices of `SLICE_S`
    until that long passed without a gain; returns the best and the steps.
    Without patience, one uninterrupted `lns.improve` (its neighbourhood size adapts over the
    whole run, not per slice) that `stop` ends natively."""
    if patience_s is None:
        return lns.improve(
            problem, variables, incumbent, deadline, num_workers, seed, focus=focus, stop=stop
        )
    found, steps, _ = improve_until(
        problem, variables, incumbent, deadline, num_workers, seed, focus, stop, patience_s
    )
    return found, steps


def improve_until(
    problem: Problem,
    variables: Variables,
    incumbent: lns.Incumbent,
    deadline: float,
    num_workers: int,
    seed: int = 0,
    focus: Collection[OpKey] = (),
    stop: threading.Event | None = None,
    patience_s: float | None = None,
) -> tuple[lns.Incumbent, int, bool]:
    """`improve` in slices; also says whether it stopped for want of gain."""
    best, steps = incumbent, 0
    last_gain = time.perf_counter()
    while deadline - time.perf_counter() > 0.2 and best.objective > best.bound:
        if stop is not None and stop.is_set():
            break
        if patience_s is not None and time.perf_counter() - last_gain > patience_s:
            return best, steps, True
        until = min(deadline, time.perf_counter() + SLICE_S)
        found, more = lns.improve(
            problem, variables, best, until, num_workers, seed + steps, sub_limit_s=SLICE_S,
            focus=focus, stop=stop,
        )  # fmt: skip
        steps += max(1, more)
        if found.objective < best.objective - MIN_GAIN * abs(best.objective):
            last_gain = time.perf_counter()
        best = found
    return best, steps, False


def solve_from(
    model: cp_model.CpModel,
    incumbent: lns.Incumbent,
    deadline: float,
    num_workers: int,
    stop: threading.Event | None = None,
) -> lns.Incumbent:
    """The whole model searched from `incumbent` (hinted) until `deadline`, optimality or
    `stop`: for a small plant, where the full search proves its plan optimal in seconds."""
    lns.set_hint(model, incumbent.values)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, deadline - time.perf_counter())
    solver.parameters.num_workers = num_workers
    with stopping(solver, stop):
        status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return incumbent
    if solver.objective_value > incumbent.objective:
        return incumbent
    bound = solver.objective_value if status == cp_model.OPTIMAL else incumbent.bound
    return lns.Incumbent(list(solver.response_proto.solution), solver.objective_value, bound)
