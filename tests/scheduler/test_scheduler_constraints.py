"""Every constraint family: one case where it holds in the plan, one where it is violated by
the input and the solver refuses (infeasible, explained) or reports it (soft rules)."""

from __future__ import annotations

import itertools
import random

from scheduler.cpsat import solve
from scheduler.plan import SolveStatus
from scheduler.problem import (
    Job,
    Machine,
    MaintenanceTask,
    Operation,
    PlannedOperation,
    Problem,
    SetupTime,
)
from tests.scheduler.helpers import PLAIN

LIMIT = 5.0


def two_jobs(**overrides: object) -> Problem:
    """Two jobs of two steps on machines A and B (a tiny flow shop)."""
    values: dict[str, object] = {
        "machines": (Machine("A"), Machine("B")),
        "jobs": (Job("p"), Job("q")),
        "operations": (
            Operation("p", 0, {"A": 3}),
            Operation("p", 1, {"B": 2}),
            Operation("q", 0, {"A": 2}),
            Operation("q", 1, {"B": 4}),
        ),
        "horizon": 50,
        "weights": PLAIN,
    }
    values.update(overrides)
    return Problem(**values)  # type: ignore[arg-type]


def solved(problem: Problem):  # type: ignore[no-untyped-def]
    result = solve(problem, LIMIT)
    assert result.status is SolveStatus.OPTIMAL, result
    assert result.plan is not None
    return result.plan


def settled(problem: Problem):  # type: ignore[no-untyped-def]
    """The solve of a problem the model had to settle first (a plan, with notes)."""
    result = solve(problem, LIMIT)
    assert result.status is SolveStatus.OPTIMAL, result
    assert result.plan is not None
    return result


def infeasible(problem: Problem) -> str:
    result = solve(problem, LIMIT)
    assert result.status is SolveStatus.INFEASIBLE
    assert result.plan is None and result.explanations
    return " | ".join(result.explanations)


def test_precedence_holds_and_the_optimum_is_known() -> None:
    plan = solved(two_jobs())
    assert plan.makespan == 8  # A: q 0-2, p 2-5; B: q 2-6, p 6-8
    for job in ("p", "q"):
        assert plan.operation(job, 0).end <= plan.operation(job, 1).start


def test_frozen_work_breaking_precedence_is_let_go_and_planned_again() -> None:
    frozen = (PlannedOperation("p", 0, "A", 5), PlannedOperation("p", 1, "B", 0))
    result = settled(two_jobs(previous=frozen, frozen_until=10))
    assert result.released == ("frozen p/1 on B let go: it would start before minute 8",)
    plan = result.plan
    assert (plan.operation("p", 0).machine, plan.operation("p", 0).start) == ("A", 5)
    assert plan.operation("p", 1).start >= 8
    assert result.moved_operations == 1


def test_machine_capacity_holds() -> None:
    plan = solved(two_jobs())
    for machine in ("A", "B"):
        items = plan.machine_schedule(machine)
        assert all(a.end <= b.start for a, b in itertools.pairwise(items))


def test_overlapping_frozen_work_keeps_the_first_and_lets_the_later_go() -> None:
    frozen = (PlannedOperation("p", 0, "A", 0), PlannedOperation("q", 0, "A", 1))
    result = settled(two_jobs(previous=frozen, frozen_until=10))
    assert result.released == ("frozen q/0 on A let go: it overlaps other frozen work on A",)
    assert result.plan.operation("p", 0).start == 0
    assert result.plan.operation("q", 0).start >= 3


def test_calendar_holds() -> None:
    plan = solved(two_jobs(machines=(Machine("A", unavailable=((0, 4),)), Machine("B"))))
    assert all(o.start >= 4 for o in plan.machine_schedule("A"))


def test_calendar_violated_leaves_the_work_out_and_names_the_machine() -> None:
    # A is closed from 2 to the horizon end: q/0 (2 long) fits before, p/0 (3) cannot.
    machines = (Machine("A", unavailable=((2, 50),)), Machine("B"))
    result = settled(two_jobs(machines=machines))
    assert [(u.subject, u.reason) for u in result.unplaced] == [
        ("p/0", "p/0 waiting for A (down until minute 50)"),
        ("p/1", "p/1 follows p/0, which cannot be placed"),
    ]
    assert result.plan.operation("q", 0).end <= 2
    assert result.reason.startswith("2 item(s) left out of the plan: p/0 waiting for A")


def test_release_holds() -> None:
    plan = solved(two_jobs(jobs=(Job("p", release=7), Job("q"))))
    assert plan.operation("p", 0).start >= 7


def test_deadline_holds_even_when_makespan_would_prefer_otherwise() -> None:
    plan = solved(two_jobs(jobs=(Job("p", deadline=5), Job("q"))))
    assert plan.operation("p", 1).end <= 5


def test_deadline_that_cannot_hold_makes_the_order_late_not_the_plan_fail() -> None:
    result = settled(two_jobs(jobs=(Job("p", release=10, deadline=12), Job("q"))))
    (violation,) = result.plan.violations
    assert violation.constraint == "deadline" and violation.subject == "p"
    assert violation.amount == 3  # p/0 10-13 on A, p/1 13-15 on B
    assert violation.message == ("job p finishes minute 15, 3 minutes after its deadline minute 12")


def test_conflicting_deadlines_make_one_order_late_and_say_so() -> None:
    # Each job alone fits; together one of them is 3 late whichever goes first on A.
    result = settled(two_jobs(jobs=(Job("p", deadline=5), Job("q", deadline=6))))
    (violation,) = result.plan.violations
    assert violation.constraint == "deadline" and violation.amount == 3


def test_horizon_too_short_for_one_job_leaves_it_out_and_plans_the_rest() -> None:
    result = settled(two_jobs(horizon=5))  # q needs 6, p needs 5: q/1 waits for the next plan
    assert [u.subject for u in result.unplaced] == ["q/1"]
    assert result.unplaced[0].reason == (
        "q/1 cannot finish before the plan ends at minute 5: ready at minute 2, on B "
        "(earliest end minute 6)"
    )
    assert result.plan.operation("p", 1).end == 5
    assert {(o.job, o.seq) for o in result.plan.operations} == {("p", 0), ("p", 1), ("q", 0)}


def test_horizon_too_short_for_both_jobs_is_explained_in_clock_words() -> None:
    from datetime import UTC, datetime

    origin = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    text = infeasible(two_jobs(horizon=7, origin=origin))  # alone each fits; both need 8
    assert "horizon: all work must end by Tue 2026-12-01 06:07 UTC" in text


def test_setup_times_hold() -> None:
    setups = (SetupTime("A", "q", "p", 10), SetupTime("A", "p", "q", 10))
    plan = solved(two_jobs(setups=setups))
    first, second = plan.machine_schedule("A")
    assert second.start - first.end >= 10


def test_setup_times_violated_by_a_short_horizon_are_explained() -> None:
    setups = (SetupTime("A", "q", "p", 10), SetupTime("A", "p", "q", 10))
    text = infeasible(two_jobs(setups=setups, horizon=14))  # without setups: 8
    assert "horizon" in text


def _maintenance(crew: int, crew_size: int) -> Problem:
    tasks = (
        MaintenanceTask("tA", "A", duration=5, crew=crew),
        MaintenanceTask("tB", "B", duration=5, crew=crew),
    )
    return two_jobs(maintenance=tasks, crew_size=crew_size)


def test_crew_limits_parallel_maintenance() -> None:
    plan = solved(_maintenance(crew=1, crew_size=1))
    a, b = sorted(plan.maintenance, key=lambda m: m.start)
    assert a.end <= b.start


def test_crew_too_small_leaves_the_maintenance_out_and_says_so() -> None:
    result = settled(_maintenance(crew=2, crew_size=1))
    assert [u.reason for u in result.unplaced] == [
        "maintenance tA on A needs 2 maintainers, the crew has 1",
        "maintenance tB on B needs 2 maintainers, the crew has 1",
    ]
    assert result.plan.maintenance == ()


def test_soft_maintenance_deadline_kept_then_reported_when_impossible() -> None:
    kept = solved(two_jobs(maintenance=(MaintenanceTask("t", "A", 5, deadline=6),)))
    assert not kept.violations and kept.maintenance[0].end <= 6
    late = solve(two_jobs(maintenance=(MaintenanceTask("t", "A", 5, release=3, deadline=6),)))
    assert late.status is SolveStatus.OPTIMAL and late.plan is not None
    (violation,) = late.plan.violations
    assert violation.constraint == "maintenance_deadline" and violation.subject == "A"
    assert violation.amount == 2


def test_frozen_window_holds_and_the_rest_moves() -> None:
    previous = (
        PlannedOperation("p", 0, "A", 20),
        PlannedOperation("p", 1, "B", 30),
        PlannedOperation("q", 0, "A", 0),
        PlannedOperation("q", 1, "B", 2),
    )
    plan = solved(two_jobs(previous=previous, frozen_until=1))
    assert (plan.operation("q", 0).start, plan.operation("q", 0).machine) == (0, "A")
    assert plan.operation("p", 0).start < 20  # not frozen: pulled forward


def test_frozen_operation_inside_a_breakdown_is_let_go_with_its_frozen_successor() -> None:
    # A breaks down 0-3 under frozen q/0; its frozen successor q/1 goes too, p stays frozen.
    machines = (Machine("A", unavailable=((0, 3),)), Machine("B"))
    frozen = (
        PlannedOperation("q", 0, "A", 0),
        PlannedOperation("q", 1, "B", 2),
        PlannedOperation("p", 1, "B", 8),
        PlannedOperation("p", 0, "A", 5),
    )
    result = settled(two_jobs(machines=machines, previous=frozen, frozen_until=9))
    assert result.released == (
        "frozen q/0 on A let go: A is down minute 0 to minute 3",
        "frozen q/1 on B let go: q/0 was let go",
    )
    plan = result.plan
    assert all(o.start >= 3 for o in plan.machine_schedule("A"))  # the down window is empty
    assert (plan.operation("p", 0).start, plan.operation("p", 1).start) == (5, 8)  # unchanged
    assert plan.operation("q", 0).start >= 3 and result.moved_operations == 2


def _optimum(problem: Problem, setups: str) -> int:
    """The optimum makespan of `problem` with the given setup formulation."""
    from ortools.sat.python import cp_model

    from scheduler.cpsat.constraints import Constraints
    from scheduler.cpsat.objective import set_objective
    from scheduler.cpsat.variables import Variables

    model = cp_model.CpModel()
    variables = Variables.build(model, problem)
    Constraints(problem, variables, setups=setups).add_constraints()
    set_objective(problem, variables)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = LIMIT
    solver.parameters.num_workers = 2
    assert solver.solve(model) == cp_model.OPTIMAL
    return round(solver.objective_value)


def test_circuit_setups_reach_the_pairwise_optimum_on_small_shops() -> None:
    rng = random.Random(5)
    for _ in range(4):
        jobs = tuple(Job(f"j{i}") for i in range(4))
        operations = tuple(
            Operation(f"j{i}", s, {m: rng.randint(2, 9) for m in rng.sample(["A", "B"], 2)})
            for i in range(4)
            for s in range(2)
        )
        # setups from job "families" (0 within a family, 6 across): triangle inequality holds
        family = {f"j{i}": i % 2 for i in range(4)}
        setups = tuple(
            SetupTime(m, a.name, b.name, 0 if family[a.name] == family[b.name] else 6)
            for m in ("A", "B")
            for a in jobs
            for b in jobs
            if a.name != b.name
        )
        problem = two_jobs(jobs=jobs, operations=operations, setups=setups, horizon=200)
        assert _optimum(problem, "circuit") == _optimum(problem, "pairwise")


def test_circuit_setups_hold_without_the_triangle_inequality() -> None:
    # p->q costs 10 but p->r->q only 2: the route must pay each direct changeover.
    machines = (Machine("A"),)
    jobs = (Job("p"), Job("q"), Job("r"))
    operations = tuple(Operation(j.name, 0, {"A": 3}) for j in jobs)
    setups = (
        SetupTime("A", "p", "q", 10), SetupTime("A", "q", "p", 10),
        SetupTime("A", "p", "r", 1), SetupTime("A", "r", "p", 1),
        SetupTime("A", "r", "q", 1), SetupTime("A", "q", "r", 1),
    )  # fmt: skip
    problem = Problem(machines, jobs, operations, horizon=100, setups=setups, weights=PLAIN)
    plan = solved(problem)
    order = [o.job for o in plan.machine_schedule("A")]
    assert plan.makespan == 11 and order in (["p", "r", "q"], ["q", "r", "p"])


def _one_step(preemptible: bool, **overrides: object) -> Problem:
    values: dict[str, object] = {
        "machines": (Machine("A", unavailable=((4, 10),)), Machine("B")),
        "jobs": (Job("p"),),
        "operations": (Operation("p", 0, {"A": 6}, preemptible_across_closures=preemptible),),
        "horizon": 50,
        "weights": PLAIN,
    }
    values.update(overrides)
    return Problem(**values)  # type: ignore[arg-type]


def test_preemptible_operation_pauses_over_a_closure() -> None:
    plan = solved(_one_step(True))
    op = plan.operation("p", 0)
    assert (op.start, op.end) == (0, 12)  # 4 before the closure, 2 after it


def test_operation_without_preemption_never_straddles_a_closure() -> None:
    plan = solved(_one_step(False))
    op = plan.operation("p", 0)
    assert (op.start, op.end) == (10, 16)


def test_preemptible_operation_blocks_its_machine_while_paused_and_may_move() -> None:
    operations = (
        Operation("p", 0, {"A": 6, "B": 9}, preemptible_across_closures=True),
        Operation("q", 0, {"A": 2}),
    )
    plan = solved(_one_step(True, jobs=(Job("p"), Job("q")), operations=operations))
    p, q = plan.operation("p", 0), plan.operation("q", 0)
    assert plan.makespan == 9 and (p.machine, p.end) == ("B", 9) and q.end <= 4
