"""A stop signal ends a long solve promptly with the best plan found, on every path (the full
model, neighbourhood search for large plants and its step in flight, the affected-scope
repair); and the repair of
a small plant ends when it stops gaining, not at its limit.

The bounds are generous on purpose (a 60 s limit, an answer well under 20 s): they say "it
stopped", not how fast the machine is."""

from __future__ import annotations

import threading
import time

import pytest
from ortools.sat.python import cp_model

from bench.scheduler_instances import plant_problem
from scheduler import disruption
from scheduler.cpsat import lns, solve
from scheduler.cpsat.constraints import Constraints
from scheduler.cpsat.hints import add_hints, best_dispatch
from scheduler.cpsat.objective import set_objective
from scheduler.cpsat.repair import repair
from scheduler.cpsat.variables import Variables
from scheduler.settle import settle
from scheduler.validate import hard_violations
from tests.scheduler.test_scheduler_disruptions import before

LONG = 60.0
PROMPT = 20.0


def _stopped_after(seconds: float) -> threading.Event:
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.daemon = True
    timer.start()
    return stop


@pytest.mark.parametrize("jobs", [40, 120])  # 200 free operations: full model; 600: LNS
def test_stop_ends_a_long_solve_with_its_best_plan(jobs: int) -> None:
    problem = plant_problem(jobs, 5, 10, seed=1)
    stop = _stopped_after(1.0)
    started = time.perf_counter()
    result = solve(problem, LONG, stop=stop)
    elapsed = time.perf_counter() - started
    assert stop.is_set() and elapsed < PROMPT, elapsed
    assert result.plan is not None and result.status.has_plan
    assert hard_violations(settle(problem).problem, result.plan) == []


def test_stop_ends_an_affected_replan_with_a_plan() -> None:
    problem = plant_problem(60, 5, 10, seed=1)
    first = solve(problem, 3.0)
    assert first.plan is not None
    broken = disruption.breakdown(disruption.replan_of(problem, first.plan), "M0", 30, 510)
    stop = _stopped_after(1.0)
    started = time.perf_counter()
    result = solve(broken, LONG, scope="affected", stop=stop)
    assert time.perf_counter() - started < PROMPT
    assert result.plan is not None
    assert hard_violations(settle(broken).problem, result.plan) == []


def test_a_set_stop_makes_the_repair_return_its_start_completed() -> None:
    base, _ = before()
    problem = disruption.offline(base, "M1")
    pinned = solve(problem, 5.0, scope="pinned")
    assert pinned.plan is not None
    stop = threading.Event()
    stop.set()
    fixed = repair(settle(problem).problem, pinned.plan, time.perf_counter() + LONG, 1, stop=stop)
    assert fixed is not None and fixed.steps == 0 and fixed.start == "pinned"


def test_the_repair_of_a_small_plant_ends_when_it_stops_gaining() -> None:
    base, _ = before()
    problem = disruption.breakdown(base, "M0", 30, 200)
    started = time.perf_counter()
    result = solve(problem, LONG, scope="affected")
    assert time.perf_counter() - started < PROMPT
    assert result.plan is not None and "repair" in result.phases


def test_stop_ends_a_neighbourhood_step_in_flight() -> None:
    """One step's sub-limit is far longer than the wait: only the step's own solver being
    stopped (not a look between steps) returns within the bound."""
    problem = settle(plant_problem(120, 5, 10, seed=1)).problem
    model = cp_model.CpModel()
    variables = Variables.build(model, problem)
    Constraints(problem, variables).add_constraints()
    set_objective(problem, variables)
    ops, maint = best_dispatch(problem)
    add_hints(problem, variables, ops, maint)
    incumbent = lns.complete(model, 10.0, 1)
    assert incumbent is not None
    stop = _stopped_after(1.0)
    started = time.perf_counter()
    best, steps = lns.improve(
        problem, variables, incumbent, started + LONG, 1, sub_limit_s=LONG, stop=stop
    )
    elapsed = time.perf_counter() - started
    assert stop.is_set() and elapsed < PROMPT, elapsed
    assert best.objective <= incumbent.objective and steps >= 1
