"""Every constraint family: one case where it holds in the plan, one where it is violated by
the input and the solver refuses (infeasible, explained) or reports it (soft rules)."""

from __future__ import annotations

import itertools

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


def test_precedence_violated_by_frozen_work_is_explained() -> None:
    frozen = (PlannedOperation("p", 0, "A", 5), PlannedOperation("p", 1, "B", 0))
    text = infeasible(two_jobs(previous=frozen, frozen_until=10))
    assert "frozen: p/1" in text or "frozen: p/0" in text


def test_machine_capacity_holds() -> None:
    plan = solved(two_jobs())
    for machine in ("A", "B"):
        items = plan.machine_schedule(machine)
        assert all(a.end <= b.start for a, b in itertools.pairwise(items))


def test_machine_capacity_violated_by_overlapping_frozen_work_is_explained() -> None:
    frozen = (PlannedOperation("p", 0, "A", 0), PlannedOperation("q", 0, "A", 1))
    text = infeasible(two_jobs(previous=frozen, frozen_until=10))
    assert "frozen: p/0" in text and "frozen: q/0" in text


def test_calendar_holds() -> None:
    plan = solved(two_jobs(machines=(Machine("A", unavailable=((0, 4),)), Machine("B"))))
    assert all(o.start >= 4 for o in plan.machine_schedule("A"))


def test_calendar_violated_names_the_operation_and_machine() -> None:
    machines = (Machine("A", unavailable=((2, 50),)), Machine("B"))
    text = infeasible(two_jobs(machines=machines))
    assert "machine availability: operation p/0" in text and "A" in text


def test_release_holds() -> None:
    plan = solved(two_jobs(jobs=(Job("p", release=7), Job("q"))))
    assert plan.operation("p", 0).start >= 7


def test_deadline_holds_even_when_makespan_would_prefer_otherwise() -> None:
    plan = solved(two_jobs(jobs=(Job("p", deadline=5), Job("q"))))
    assert plan.operation("p", 1).end <= 5


def test_release_past_deadline_is_explained_by_the_precheck() -> None:
    text = infeasible(two_jobs(jobs=(Job("p", release=10, deadline=12), Job("q"))))
    assert "deadline: job p" in text


def test_conflicting_deadlines_are_explained_by_the_solver() -> None:
    # Each job alone fits; both cannot use A first.
    text = infeasible(two_jobs(jobs=(Job("p", deadline=5), Job("q", deadline=6))))
    assert "deadline: job p" in text and "deadline: job q" in text


def test_horizon_too_short_is_explained() -> None:
    assert "horizon: job q" in infeasible(two_jobs(horizon=5))


def test_setup_times_hold() -> None:
    setups = (SetupTime("A", "q", "p", 10), SetupTime("A", "p", "q", 10))
    plan = solved(two_jobs(setups=setups))
    first, second = plan.machine_schedule("A")
    assert second.start - first.end >= 10


def test_setup_times_violated_by_a_deadline_are_explained() -> None:
    setups = (SetupTime("A", "q", "p", 10), SetupTime("A", "p", "q", 10))
    text = infeasible(two_jobs(setups=setups, jobs=(Job("p", deadline=14), Job("q", deadline=14))))
    assert "deadline" in text


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


def test_crew_too_small_is_explained() -> None:
    assert "maintenance crew: task tA" in infeasible(_maintenance(crew=2, crew_size=1))


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


def test_frozen_operation_inside_a_closed_calendar_is_explained() -> None:
    machines = (Machine("A", unavailable=((0, 3),)), Machine("B"))
    frozen = (PlannedOperation("q", 0, "A", 0),)
    text = infeasible(two_jobs(machines=machines, previous=frozen, frozen_until=1))
    assert "frozen: q/0" in text and "calendar: machine A" in text
