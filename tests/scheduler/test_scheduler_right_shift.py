"""The right-shift repair and the resequenced/shifted split: after each disruption the lists
of unaffected work keep their order (only affected work and its jobs' later steps change
machine or place), the down window is empty, frozen work outside it is unchanged; and the
solver prices a resequence exactly as `evaluate` does."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scheduler import disruption
from scheduler.cpsat import solve
from scheduler.evaluate import evaluate
from scheduler.plan_builder import build_plan
from scheduler.problem import Job, Machine, Operation, PlannedOperation, Problem
from scheduler.right_shift import right_shift
from scheduler.settle import settle
from scheduler.stability import changes
from scheduler.validate import hard_violations
from tests.scheduler.helpers import PLAIN
from tests.scheduler.test_scheduler_disruptions import LIMIT, _disrupt, before

KINDS = ["breakdown", "offline", "overdue", "rush", "cancel"]


def _checks(problem: Problem, plan_ops: dict[tuple[str, int], tuple[str, int]], kind: str) -> None:
    if kind == "breakdown":  # M0 down 30-200
        on_m0 = [
            (s, s + problem.operation(k).options["M0"])
            for k, (m, s) in plan_ops.items()
            if m == "M0"
        ]
        assert all(end <= 30 or start >= 200 for start, end in on_m0)
    if kind == "offline":
        assert all(m != "M1" for m, _ in plan_ops.values())


@pytest.mark.parametrize("kind", KINDS)
def test_right_shift_keeps_every_unaffected_list_in_order(kind: str) -> None:
    base, first = before()
    problem = _disrupt(base, kind)
    assert first.plan is not None
    pinned = solve(problem, LIMIT, scope="pinned")
    assert pinned.plan is not None
    plant = settle(problem).problem
    affected = disruption.affected_operations(problem)
    maint = {m.name: m.start for m in pinned.plan.maintenance}
    found = right_shift(plant, problem.previous, maint)
    assert found is not None
    plan = build_plan(plant, *found)
    assert hard_violations(plant, plan) == []
    ops = {(o.job, o.seq): (o.machine, o.start) for o in plan.operations}
    _checks(problem, ops, kind)
    let_go = {p.key for p in settle(problem).released}
    for key, planned in problem.frozen().items():
        if key not in let_go:
            assert ops[key] == (planned.machine, planned.start)
    changed = changes(problem.previous, plan, affected)
    assert changed.resequenced <= affected
    for p in problem.previous:  # pure right shift: nothing unaffected starts earlier
        if p.key not in affected:
            assert ops[p.key][1] >= p.start


@pytest.mark.parametrize("kind", KINDS)
def test_affected_replan_resequences_only_affected_work(kind: str) -> None:
    """Scope `affected` (right-shift start, then the repair): the plan exists and keeps the
    hard rules, the window is empty, frozen work outside it is unchanged, and, with a
    resequence priced above any gain here, no unaffected operation changed machine or place
    in its machine's list (at the default price the repair may resequence where the plan gains
    more; the result counts it)."""
    base, _ = before()
    problem = _disrupt(base, kind)
    problem = replace(problem, weights=replace(problem.weights, resequenced=10_000.0))
    result = solve(problem, LIMIT, scope="affected")
    assert result.plan is not None, result
    plant = settle(problem).problem
    assert hard_violations(plant, result.plan) == []
    ops = {(o.job, o.seq): (o.machine, o.start) for o in result.plan.operations}
    _checks(problem, ops, kind)
    let_go = {p.key for p in settle(problem).released}
    for key, planned in problem.frozen().items():
        if key not in let_go:
            assert ops[key] == (planned.machine, planned.start)
    affected = disruption.affected_operations(problem)
    changed = changes(problem.previous, result.plan, affected)
    assert changed.resequenced <= affected
    assert result.resequenced_operations == len(changed.resequenced)
    assert result.shifted_operations == len(changed.shifted)


def _line(*starts: tuple[str, int]) -> tuple[PlannedOperation, ...]:
    return tuple(PlannedOperation(job, 0, "M0", start) for job, start in starts)


def _plan_on(problem: Problem, placements: dict[str, tuple[str, int]]):  # type: ignore[no-untyped-def]
    return build_plan(problem, {(j, 0): p for j, p in placements.items()}, {})


def _three() -> Problem:
    jobs = tuple(Job(n) for n in "ABC")
    ops = tuple(Operation(n, 0, {"M0": 10, "M1": 10}) for n in "ABC")
    previous = _line(("A", 0), ("B", 10), ("C", 20))
    return Problem((Machine("M0"), Machine("M1")), jobs, ops, 100, previous=previous, weights=PLAIN)


def test_a_shift_or_an_insertion_is_no_resequence() -> None:
    problem = _three()
    shifted = _plan_on(problem, {"A": ("M0", 0), "B": ("M0", 25), "C": ("M0", 40)})
    changed = changes(problem.previous, shifted)
    assert changed.resequenced == frozenset()
    assert changed.shifted == {("B", 0), ("C", 0)}


def test_a_reorder_or_a_machine_change_is_a_resequence() -> None:
    problem = _three()
    swapped = _plan_on(problem, {"A": ("M0", 0), "B": ("M0", 20), "C": ("M0", 10)})
    assert len(changes(problem.previous, swapped).resequenced) == 1  # the fewest: B or C
    elsewhere = _plan_on(problem, {"A": ("M0", 0), "B": ("M1", 10), "C": ("M0", 20)})
    changed = changes(problem.previous, elsewhere)
    assert changed.resequenced == {("B", 0)} and changed.shifted == frozenset()


def test_affected_work_does_not_decide_the_order_of_the_rest() -> None:
    """B (affected) re-inserted after C: B is resequenced, not C."""
    problem = _three()
    plan = _plan_on(problem, {"A": ("M0", 0), "B": ("M0", 20), "C": ("M0", 10)})
    assert changes(problem.previous, plan, {("B", 0)}).resequenced == {("B", 0)}


def test_the_solver_prices_a_resequence_as_evaluate_does() -> None:
    """A plant replan after a breakdown that reorders work: the solver's objective equals the
    plan's score under `evaluate`, resequencing term included."""
    base, _ = before()
    problem = disruption.breakdown(base, "M0", 30, 200)
    weights = replace(problem.weights, resequenced=3.0)
    problem = replace(problem, weights=weights)
    result = solve(problem, LIMIT)
    assert result.plan is not None and result.objective is not None
    plant = settle(problem).problem
    assert round(result.objective * weights.scale) == evaluate(plant, result.plan)["total"]
    unpriced = replace(weights, resequenced=0.0)
    assert (
        evaluate(plant, result.plan)["total"]
        >= evaluate(replace(plant, weights=unpriced), result.plan)["total"]
    )
