"""The list-kept repair and the stable-versus-re-dispatch trade-off: after a machine goes
offline the stable plan keeps every unaffected machine list in order (inserting the displaced
work resequences nothing), the result says what that stability costs in production against
re-dispatching, and `max_loss` (`[scheduler] replan_max_loss`) decides between them."""

from __future__ import annotations

import time

import pytest

from scheduler import disruption
from scheduler.cpsat import repair as repair_module
from scheduler.cpsat import solve
from scheduler.cpsat.list_lock import kept_lists_search
from scheduler.plan_builder import build_plan
from scheduler.problem import Job, Machine, Operation, PlannedOperation, Problem
from scheduler.right_shift import right_shift
from scheduler.settle import settle
from scheduler.stability import changes
from scheduler.validate import hard_violations
from tests.scheduler.test_scheduler_disruptions import LIMIT, _disrupt, a_behind_b_offline, before


def _line() -> Problem:
    """M0 runs A (due 60, weight 5); M1 runs B then C, both with slack. M0 then goes offline:
    A can only go to M1."""
    problem = Problem(
        machines=(Machine("M0"), Machine("M1")),
        jobs=(Job("A", due=60, weight=5), Job("B", due=200), Job("C", due=300)),
        operations=(
            Operation("A", 0, {"M0": 50, "M1": 50}),
            Operation("B", 0, {"M1": 60}),
            Operation("C", 0, {"M1": 60}),
        ),
        horizon=600,
        previous=(
            PlannedOperation("A", 0, "M0", 0),
            PlannedOperation("B", 0, "M1", 0),
            PlannedOperation("C", 0, "M1", 60),
        ),
    )
    return disruption.offline(problem, "M0")


def test_displaced_work_goes_in_front_without_resequencing_the_list() -> None:
    """A goes first on M1 and is on time; B and C keep their order and shift by 50: an
    insertion, so nothing unaffected is resequenced."""
    down = _line()
    plant = settle(down).problem
    affected = disruption.affected_operations(down)
    assert affected == {("A", 0)}
    start = {("A", 0): ("M1", 120), ("B", 0): ("M1", 0), ("C", 0): ("M1", 60)}
    found = kept_lists_search(plant, affected, start, {}, time.perf_counter() + 5.0, 1)
    assert found is not None
    ops, _ = found
    assert ops == {("A", 0): ("M1", 0), ("B", 0): ("M1", 50), ("C", 0): ("M1", 110)}
    plan = build_plan(plant, *found)
    assert hard_violations(plant, plan) == []
    changed = changes(down.previous, plan, affected)
    assert changed.resequenced - affected == set()
    assert changed.shifted == {("B", 0), ("C", 0)}


def test_an_unaffected_list_never_changes_order_even_where_that_would_gain() -> None:
    """C is now urgent (due 70): swapping B and C would make C on time, but B and C are not
    affected, so the list-kept plan keeps B before C and C is late."""
    down = _line()
    down = Problem(
        machines=down.machines,
        jobs=(Job("A", due=600), Job("B", due=600), Job("C", due=70, weight=5)),
        operations=down.operations,
        horizon=down.horizon,
        previous=down.previous,
    )
    plant = settle(down).problem
    affected = disruption.affected_operations(down)
    start = {("A", 0): ("M1", 120), ("B", 0): ("M1", 0), ("C", 0): ("M1", 60)}
    found = kept_lists_search(plant, affected, start, {}, time.perf_counter() + 5.0, 1)
    assert found is not None
    ops, _ = found
    assert ops[("B", 0)][1] < ops[("C", 0)][1]
    assert ops[("A", 0)] == ("M1", 120)  # after C: A has the slack


@pytest.mark.parametrize("max_loss", [None, 0.1])
def test_offline_replan_reports_what_keeping_the_lists_costs(
    monkeypatch: pytest.MonkeyPatch, max_loss: float | None
) -> None:
    """M1 goes offline on the eight-job plant (the large plants' path, lists kept as hard
    rules as for a start far off re-dispatching): the repair's stable plan keeps every
    unaffected machine list (0 resequenced beyond the affected work), the result reports its
    production cost beside re-dispatching's, and the reason says both. With `max_loss` unset
    the stable plan is kept whatever it costs, and the plan moves only affected work; with
    10 % it gives way when it costs more than that."""
    monkeypatch.setattr(repair_module, "FULL_MAX_OPS", 0)
    monkeypatch.setattr(repair_module, "FAR", -1.0)  # the list-kept path, whatever the start
    base, _ = before()
    problem = _disrupt(base, "offline")
    result = solve(problem, LIMIT, scope="affected", max_loss=max_loss)
    assert result.plan is not None and result.tradeoff is not None, result
    tradeoff = result.tradeoff
    assert tradeoff.stable_resequenced == 0
    assert tradeoff.max_loss == max_loss
    plant = settle(problem).problem
    assert hard_violations(plant, result.plan) == []
    assert result.reason is not None and f"{tradeoff.redispatch:.1f}" in result.reason
    if max_loss is None:
        assert tradeoff.chosen == "stable" and "kept" in result.reason
    elif tradeoff.loss is not None and tradeoff.loss > max_loss:
        assert tradeoff.chosen == "redispatch" and "re-dispatched" in result.reason
    if tradeoff.chosen == "stable":  # more of the list-kept search: still every list kept
        affected = disruption.affected_operations(problem)
        changed = changes(problem.previous, result.plan, affected)
        assert changed.resequenced - affected == set()
        assert result.resequenced_operations == len(changed.resequenced)


def test_the_stable_plan_is_kept_when_the_planner_accepts_any_loss(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Moves priced so high that the pinned plan (A waits behind B) is the stable plan: with
    a 10 % tolerance it gives way to re-dispatching and the trade-off shows the two production
    costs; with none (`max_loss` None) it is kept, and says so."""
    monkeypatch.setattr(repair_module, "FULL_MAX_OPS", 0)
    down = a_behind_b_offline()
    plant = settle(down).problem
    pinned = solve(down, LIMIT, scope="pinned")
    assert pinned.plan is not None
    deadline = time.perf_counter() + 2.0
    fixed = repair_module.repair(plant, pinned.plan, deadline, 1, first_share=0, max_loss=0.1)
    assert fixed is not None and fixed.start == "dispatch" and fixed.tradeoff is not None
    assert fixed.tradeoff.chosen == "redispatch"
    assert fixed.tradeoff.stable > 1.1 * fixed.tradeoff.redispatch
    deadline = time.perf_counter() + 2.0
    kept = repair_module.repair(plant, pinned.plan, deadline, 1, first_share=0, max_loss=None)
    assert kept is not None and kept.start != "dispatch" and kept.tradeoff is not None
    assert kept.tradeoff.chosen == "stable"
    assert kept.plan.operation("B", 0).start == 0


def test_right_shift_start_keeps_the_lists_the_search_then_keeps() -> None:
    """The list-kept search from the right-shift start never breaks a list it was given."""
    down = _line()
    plant = settle(down).problem
    affected = disruption.affected_operations(down)
    start = right_shift(plant, down.previous, {})
    assert start is not None
    found = kept_lists_search(plant, affected, start[0], {}, time.perf_counter() + 5.0, 1)
    assert found is not None
    assert changes(down.previous, build_plan(plant, *found), affected).resequenced <= affected


@pytest.mark.parametrize("kind", ["breakdown", "offline", "overdue", "rush", "cancel"])
def test_by_default_a_replan_resequences_only_the_affected_work(
    monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The shipped default (`[scheduler] replan_max_loss` unset): whatever the disruption, on
    the large plants' path, no unaffected operation changes machine or its place in its
    machine's list; it may only shift in time. Re-dispatching is a planner's opt-in."""
    from scheduler.config import SchedulerConfig

    assert SchedulerConfig().replan_max_loss is None
    monkeypatch.setattr(repair_module, "FULL_MAX_OPS", 0)
    base, _ = before()
    problem = _disrupt(base, kind)
    result = solve(problem, LIMIT, scope="affected")
    assert result.plan is not None, result
    assert hard_violations(settle(problem).problem, result.plan) == []
    affected = disruption.affected_operations(problem)
    changed = changes(problem.previous, result.plan, affected)
    assert changed.resequenced - affected == set()
    if result.tradeoff is not None:
        assert result.tradeoff.chosen == "stable" and result.tradeoff.max_loss is None
