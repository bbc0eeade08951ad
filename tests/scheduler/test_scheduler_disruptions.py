"""Disruptions in the pure model: a breakdown, an offline machine, an overdue order, a rush
order and a cancellation each replan to a plan; the down window is empty, frozen work outside
it is unchanged, and only what must move moves. And a plan degraded to dispatch says so."""

from __future__ import annotations

import random

import pytest

from scheduler import disruption
from scheduler.cpsat import solve
from scheduler.objective_weights import ObjectiveWeights
from scheduler.plan import Result, SolveStatus
from scheduler.problem import (
    Job,
    Machine,
    MachineRisk,
    MaintenanceTask,
    Operation,
    PlannedOperation,
    Problem,
)
from scheduler.risk import with_risk_maintenance
from scheduler.settle import settle
from scheduler.validate import hard_violations

LIMIT = 5.0


def plant(seed: int = 3) -> Problem:
    """Eight jobs of three steps, two eligible machines each, M1 risky, a 60-minute window."""
    rng = random.Random(seed)
    names = [f"M{i}" for i in range(4)]
    jobs, operations = [], []
    for j in range(8):
        for s in range(3):
            base = rng.randint(10, 40)
            options = {m: base + rng.randint(0, 5) for m in rng.sample(names, 2)}
            operations.append(Operation(f"J{j}", s, options))
        jobs.append(Job(f"J{j}", release=rng.randint(0, 30), due=rng.randint(100, 300)))
    problem = Problem(
        machines=tuple(Machine(n) for n in names),
        jobs=tuple(jobs),
        operations=tuple(operations),
        horizon=1000,
        risks=(MachineRisk("M1", 0.5, rul_low=400),),
        crew_size=1,
        frozen_until=60,
    )
    return with_risk_maintenance(problem, duration=30, cost=10)


def replanned(problem: Problem) -> Result:
    """The replan of `problem`: a plan that keeps every hard rule of the settled problem."""
    result = solve(problem, LIMIT)
    assert result.status is SolveStatus.OPTIMAL and result.plan is not None, result
    assert hard_violations(settle(problem).problem, result.plan) == []
    return result


def a_behind_b_offline(weights: ObjectiveWeights | None = None) -> Problem:
    """Two machines, M0 offline: urgent A (planned on M0) can only wait behind B on M1. With
    the default `weights`, moves are priced so high that the pinned plan, A after B, is the
    stable plan."""
    problem = Problem(
        machines=(Machine("M0"), Machine("M1")),
        jobs=(Job("A", due=60, weight=5), Job("B", due=500)),
        operations=(Operation("A", 0, {"M0": 50, "M1": 50}), Operation("B", 0, {"M1": 100})),
        horizon=600,
        previous=(PlannedOperation("A", 0, "M0", 0), PlannedOperation("B", 0, "M1", 0)),
        weights=ObjectiveWeights(moved=10_000.0) if weights is None else weights,
    )
    return disruption.offline(problem, "M0")


def before() -> tuple[Problem, Result]:
    problem = plant()
    first = replanned(problem)
    assert first.plan is not None
    return disruption.replan_of(problem, first.plan), first


def hit_with_successors(base: Problem, hit: set[tuple[str, int]]) -> set[tuple[str, int]]:
    """The frozen placements `hit` plus the frozen later steps of their jobs."""
    first: dict[str, int] = {}
    for job, seq in hit:
        first[job] = min(seq, first.get(job, seq))
    return {k for k in base.frozen() if k[0] in first and k[1] >= first[k[0]]}


def test_nothing_changed_moves_nothing() -> None:
    base, first = before()
    again = replanned(base)
    assert again.moved_operations == 0 and again.objective == first.objective


def test_breakdown_empties_the_window_and_keeps_frozen_work_elsewhere() -> None:
    base, first = before()
    assert first.plan is not None
    result = replanned(disruption.breakdown(base, "M0", 30, 200))
    assert result.plan is not None
    hit = {
        k for k, p in base.frozen().items()
        if p.machine == "M0" and p.start < 200 and p.start + base.operation(k).options["M0"] > 30
    }  # fmt: skip
    let_go = hit_with_successors(base, hit)
    assert hit and len(result.released) == len(let_go)
    for key in hit:
        assert f"frozen {key[0]}/{key[1]} on M0 let go: M0 is down minute 30 to minute 200" in (
            result.released
        )
    assert all(o.end <= 30 or o.start >= 200 for o in result.plan.machine_schedule("M0"))
    for key, planned in base.frozen().items():
        if key not in let_go:
            now = result.plan.operation(*key)
            assert (now.machine, now.start) == (planned.machine, planned.start)
    assert result.moved_operations is not None and result.moved_operations >= len(let_go)


def test_offline_machine_gets_no_work_and_no_maintenance() -> None:
    base, _ = before()
    result = replanned(disruption.offline(base, "M1"))
    assert result.plan is not None
    assert result.plan.machine_schedule("M1") == []
    hit = {k for k, p in base.frozen().items() if p.machine == "M1"}
    assert hit and len(result.released) == len(hit_with_successors(base, hit))
    for key in hit:
        assert f"frozen {key[0]}/{key[1]} on M1 let go: M1 is offline" in result.released
    assert [(u.subject, u.reason) for u in result.unplaced] == [
        ("maint-M1", "maintenance maint-M1 waits for M1 (offline)")
    ]


def test_work_that_only_an_offline_machine_can_do_waits_for_it() -> None:
    base, _ = before()
    extra = disruption.rush(
        base, Job("X"), (Operation("X", 0, {"M1": 10}), Operation("X", 1, {"M2": 5}))
    )
    result = replanned(disruption.offline(extra, "M1"))
    assert [(u.subject, u.reason) for u in result.unplaced][:2] == [
        ("X/0", "X/0 waiting for M1 (offline, down until further notice)"),
        ("X/1", "X/1 follows X/0, which cannot be placed"),
    ]


def test_overdue_order_is_late_not_infeasible() -> None:
    base, _ = before()
    overdue = Job("OLD", release=-500, due=-300, deadline=-100, weight=2)
    result = replanned(disruption.rush(base, overdue, (Operation("OLD", 0, {"M2": 15}),)))
    assert result.plan is not None
    (outcome,) = [j for j in result.plan.jobs if j.job == "OLD"]
    assert outcome.lateness == outcome.completion + 300 and outcome.completion > 0
    (violation,) = [v for v in result.plan.violations if v.subject == "OLD"]
    assert violation.constraint == "deadline" and violation.amount == outcome.completion + 100


def test_rush_order_moves_less_with_the_stability_term() -> None:
    from dataclasses import replace

    base, _ = before()
    urgent = (Job("R", due=80, weight=3), (Operation("R", 0, {"M2": 20, "M3": 25}),))
    stable = replanned(disruption.rush(base, *urgent))
    loose = replanned(
        disruption.rush(replace(base, weights=replace(base.weights, moved=0)), *urgent)
    )
    assert stable.plan is not None and stable.plan.operation("R", 0).end <= 130
    assert stable.moved_operations is not None and loose.moved_operations is not None
    assert stable.moved_operations <= loose.moved_operations


def test_cancelled_order_moves_nothing_else() -> None:
    base, _ = before()
    result = replanned(disruption.cancel(base, "J3"))
    assert result.moved_operations == 0


def test_plan_degraded_to_dispatch_is_labelled_and_keeps_the_hard_rules() -> None:
    problem = plant()
    result = solve(problem, LIMIT, stop_after_presolve=True)  # the solver returns no plan
    assert result.status is SolveStatus.DISPATCH and result.status.value == "feasible (dispatch)"
    assert result.plan is not None and hard_violations(problem, result.plan) == []
    assert result.reason is not None and result.reason.startswith(
        "the solver found no better plan within"
    )
    assert result.objective == result.plan.costs["total"]
    assert set(result.phases) == {"settle", "dispatch", "model", "solve"}


def _disrupt(base: Problem, kind: str) -> Problem:
    if kind == "breakdown":
        return disruption.breakdown(base, "M0", 30, 200)
    if kind == "offline":
        return disruption.offline(base, "M1")
    if kind == "overdue":
        old = Job("OLD", release=-500, due=-300, weight=2)
        return disruption.rush(base, old, (Operation("OLD", 0, {"M2": 15, "M3": 15}),))
    if kind == "rush":
        urgent = Job("R", due=80, weight=3)
        return disruption.rush(base, urgent, (Operation("R", 0, {"M2": 20, "M3": 25}),))
    return disruption.cancel(base, "J3")


@pytest.mark.parametrize("kind", ["breakdown", "offline", "overdue", "rush", "cancel"])
def test_pinned_scope_moves_only_the_affected_work(kind: str) -> None:
    """Scope `pinned`: the plan exists and keeps the hard rules, every previous placement
    outside the affected work (what the disruption contradicts, its jobs' later steps, new
    orders) stays where it was, frozen or not, and what moved is counted against it."""
    base, _ = before()
    problem = _disrupt(base, kind)
    result = solve(problem, LIMIT, scope="pinned")
    assert result.status.has_plan and result.plan is not None, result
    assert hard_violations(settle(problem).problem, result.plan) == []
    affected = disruption.affected_operations(problem)
    assert result.affected_operations == len(affected)
    placed = {(o.job, o.seq): (o.machine, o.start) for o in result.plan.operations}
    for planned in problem.previous:
        if planned.key not in affected:
            assert placed[planned.key] == (planned.machine, planned.start), planned
    moved = {p.key for p in problem.previous if placed.get(p.key) != (p.machine, p.start)}
    assert moved <= affected and result.moved_operations == len(moved)
    if kind == "breakdown":
        assert all(o.end <= 30 or o.start >= 200 for o in result.plan.machine_schedule("M0"))
        assert moved  # the broken machine's work did move
    if kind == "offline":
        assert result.plan.machine_schedule("M1") == []
    if kind == "cancel":
        assert moved == set()  # nothing contradicted, nothing new
    new = {op.key for op in problem.operations if problem.planned(op.key) is None}
    assert new <= {(o.job, o.seq) for o in result.plan.operations}


def test_affected_scope_frees_the_work_in_the_way_of_maintenance_due() -> None:
    """A breakdown takes the window a risky machine's maintenance had: the kept work in the
    earliest window left is let go too, so the maintenance is not pushed past its deadline."""
    problem = Problem(
        machines=(Machine("M0"), Machine("M1")),
        jobs=(Job("A", due=400), Job("B", due=400)),
        operations=(Operation("A", 0, {"M1": 50, "M0": 60}), Operation("B", 0, {"M0": 40})),
        horizon=600,
        maintenance=(MaintenanceTask("service-M1", "M1", 30, release=0, deadline=100),),
        previous=(PlannedOperation("A", 0, "M1", 40), PlannedOperation("B", 0, "M0", 0)),
    )
    broken = disruption.breakdown(problem, "M1", 0, 40)
    assert disruption.affected_operations(broken) == {("A", 0)}
    result = solve(broken, LIMIT, scope="affected")
    assert result.plan is not None
    (service,) = result.plan.maintenance
    assert service.start >= 40 and service.end <= 100  # on time, after the breakdown
    kept = result.plan.operation("B", 0)
    assert (kept.machine, kept.start) == ("M0", 0)


def test_affected_scope_makes_room_for_a_rush_order_before_its_due_date() -> None:
    """The work in a rush order's way (its machines, up to its due date) may move; work in the
    frozen window and work after the due date stay."""
    problem = Problem(
        machines=(Machine("M0"),),
        jobs=(Job("A"), Job("B", due=500), Job("C", due=500)),
        operations=(
            Operation("A", 0, {"M0": 50}),
            Operation("B", 0, {"M0": 50}),
            Operation("C", 0, {"M0": 50}),
        ),
        horizon=600,
        frozen_until=10,
        previous=(
            PlannedOperation("A", 0, "M0", 0),
            PlannedOperation("B", 0, "M0", 50),
            PlannedOperation("C", 0, "M0", 300),
        ),
    )
    rushed = disruption.rush(problem, Job("R", due=100, weight=5), (Operation("R", 0, {"M0": 30}),))
    assert disruption.affected_operations(rushed) == {("R", 0), ("B", 0)}
    result = solve(rushed, LIMIT, scope="pinned")  # `affected` would also pull C ahead
    assert result.plan is not None and result.affected_operations == 2
    assert result.plan.operation("R", 0).end <= 100
    assert result.plan.operation("A", 0).start == 0 and result.plan.operation("C", 0).start == 300
    assert result.moved_operations == 1  # B made room


@pytest.mark.parametrize("kind", ["offline", "rush"])
def test_affected_scope_repairs_the_pinned_plan_and_is_never_worse(kind: str) -> None:
    """Scope `affected`: the pinned plan first, then the repair: a plan that keeps the hard
    rules, frozen work outside what the disruption let go unchanged, and an objective (its
    stability term included) no worse than the pinned plan's."""
    base, _ = before()
    problem = _disrupt(base, kind)
    pinned = solve(problem, LIMIT, scope="pinned")
    result = solve(problem, LIMIT, scope="affected")
    assert result.plan is not None and pinned.objective is not None
    assert result.objective is not None and result.objective <= pinned.objective
    assert hard_violations(settle(problem).problem, result.plan) == []
    assert "repair" in result.phases
    let_go = {tuple(r.split(" ")[1].split("/")) for r in result.released}
    for key, planned in problem.frozen().items():
        if (key[0], str(key[1])) not in let_go:
            now = result.plan.operation(*key)
            assert (now.machine, now.start) == (planned.machine, planned.start)


def _side_order(a_start: int, a_due: int | None, stability: bool = True) -> Problem:
    """A on M0 planned at `a_start`; a new order R arrives on M1, out of A's way, so A is
    not affected: only the repair may move it. Without `stability`, moves cost nothing."""
    weights = ObjectiveWeights()
    if not stability:
        weights = ObjectiveWeights(moved=0.0, change=0.0, change_machine=0.0)
    problem = Problem(
        machines=(Machine("M0"), Machine("M1")),
        jobs=(Job("A", due=a_due, weight=5),),
        operations=(Operation("A", 0, {"M0": 50}),),
        horizon=600,
        previous=(PlannedOperation("A", 0, "M0", a_start),),
        weights=weights,
    )
    return disruption.rush(problem, Job("R", due=100), (Operation("R", 0, {"M1": 30}),))


def test_stability_term_keeps_unaffected_work_a_small_gain_would_move() -> None:
    """Moving A from 20 to 0 shortens the plan by 20 (makespan weight 1): less than moving
    work due that soon costs (50 x urgency + the shift), so A stays; without the stability
    term the repair moves it."""
    kept = solve(_side_order(20, None), LIMIT, scope="affected")
    assert disruption.affected_operations(_side_order(20, None)) == {("R", 0)}
    assert kept.plan is not None and kept.plan.operation("A", 0).start == 20
    assert kept.moved_operations == 0
    loose = solve(_side_order(20, None, stability=False), LIMIT, scope="affected")
    assert loose.plan is not None and loose.plan.operation("A", 0).start == 0
    assert loose.moved_operations == 1


def test_a_large_gain_justifies_moving_unaffected_work() -> None:
    """A planned at 200, due at 100 with weight 5: 150 minutes late cost 7500, far more than
    the move; the repair moves it (the pinned scope keeps it)."""
    problem = _side_order(200, 100)
    assert disruption.affected_operations(problem) == {("R", 0)}
    pinned = solve(problem, LIMIT, scope="pinned")
    assert pinned.plan is not None and pinned.plan.operation("A", 0).start == 200
    result = solve(problem, LIMIT, scope="affected")
    assert result.plan is not None and result.plan.operation("A", 0).end <= 100
    assert result.moved_operations == 1 and result.affected_operations == 1
    assert result.objective is not None and pinned.objective is not None
    assert result.objective < pinned.objective


def test_repair_restarts_from_the_dispatching_replan_when_it_is_cheaper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """M0 goes offline: the pinned plan queues A behind B on M1, late; rebuilt from scratch, A
    goes first. With no time for the pinned start (nor for the list-kept search) and a
    planner's `max_loss` set, the repair takes the dispatching replan (on the neighbourhood
    search of a large plant; a plant this small is searched whole). Given the time, by default
    (no re-dispatching), the list-kept search puts A in front of B too:
    an insertion, B keeps its place in M1's list, so the stable plan is as good."""
    import time

    from scheduler.cpsat import repair as repair_module
    from scheduler.cpsat.repair import repair

    monkeypatch.setattr(repair_module, "FULL_MAX_OPS", 0)
    down = a_behind_b_offline(ObjectiveWeights())
    pinned = solve(down, LIMIT, scope="pinned")
    assert pinned.plan is not None and pinned.plan.operation("A", 0).start == 100
    plant = settle(down).problem
    with monkeypatch.context() as patch:
        patch.setattr(repair_module, "KEPT_SHARE", 0.0)
        fixed = repair(
            plant, pinned.plan, time.perf_counter() + 2.0, 1, {("A", 0)}, first_share=0,
            max_loss=0.1,
        )  # fmt: skip
    assert fixed is not None and fixed.start == "dispatch"
    assert fixed.plan.operation("A", 0).end <= 60
    assert pinned.objective is not None and fixed.objective < pinned.objective * plant.weights.scale
    kept = repair(plant, pinned.plan, time.perf_counter() + 2.0, 1, {("A", 0)}, first_share=0)
    assert kept is not None and kept.start == "kept-lists"
    assert kept.plan.operation("A", 0).end <= 60 and kept.plan.operation("B", 0).start == 50


def test_unknown_scope_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown replan scope"):
        solve(plant(), LIMIT, scope="everything")


def test_a_stable_plan_far_worse_in_production_gives_way_to_the_dispatching_replan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """M0 goes offline; kept in place, B makes the urgent A wait until 100. Re-dispatched, A
    goes first and B moves, which costs more under the whole objective (moves priced high)
    than A's lateness; production (the stability term left out) is still far better, past a
    planner's `max_loss` of 10 %: the repair searches from the re-dispatched plan. With a
    tolerance of 100x it keeps the stable start."""
    import time

    from scheduler.cpsat import repair as repair_module
    from scheduler.cpsat.repair import repair

    monkeypatch.setattr(repair_module, "FULL_MAX_OPS", 0)  # the large plants' path
    down = a_behind_b_offline()
    pinned = solve(down, LIMIT, scope="pinned")
    assert pinned.plan is not None and pinned.plan.operation("A", 0).start == 100
    plant = settle(down).problem
    fixed = repair(plant, pinned.plan, time.perf_counter() + 2.0, 1, first_share=0, max_loss=0.1)
    assert fixed is not None and fixed.start == "dispatch"
    kept = repair(plant, pinned.plan, time.perf_counter() + 2.0, 1, first_share=0, max_loss=100)
    assert kept is not None and kept.start == "pinned"
