"""Risk scores become constraints: maintenance before rul_low, work moved off risky machines,
nothing runs past predicted failure, and each decision names the risk behind it."""

from __future__ import annotations

from dataclasses import replace

from scheduler.cpsat import solve
from scheduler.evaluate import evaluate
from scheduler.objective_weights import ObjectiveWeights
from scheduler.plan import SolveStatus
from scheduler.problem import Job, Machine, MachineRisk, Operation, PlannedOperation, Problem
from scheduler.risk import with_risk_maintenance

WEIGHTS = ObjectiveWeights(tardiness=1, expected_failure=1000, makespan=1, scale=10)


def shop(options: dict[str, int], risk: MachineRisk, horizon: int = 500) -> Problem:
    """Three one-step jobs that may use `options`; machine R carries `risk`."""
    problem = Problem(
        machines=(Machine("R"), Machine("H")),
        jobs=tuple(Job(f"j{i}", due=200) for i in range(3)),
        operations=tuple(Operation(f"j{i}", 0, dict(options)) for i in range(3)),
        horizon=horizon,
        risks=(risk,),
        crew_size=1,
        weights=WEIGHTS,
    )
    return with_risk_maintenance(problem, duration=20, cost=10)


def test_rul_inside_horizon_adds_maintenance_that_ends_before_rul_low() -> None:
    problem = shop({"R": 30}, MachineRisk("R", p_fail=0.9, rul_low=60))
    (task,) = problem.maintenance
    assert task.machine == "R" and task.deadline == 60 and "risk R" in (task.cause or "")
    result = solve(problem, 5)
    assert result.status is SolveStatus.OPTIMAL and result.plan is not None
    (maint,) = result.plan.maintenance
    assert maint.end <= 60 and maint.cause == task.cause
    assert not result.plan.violations
    for op in result.plan.operations:  # no work runs past rul_low before maintenance
        assert op.end <= maint.start or op.start >= maint.end
        assert op.start >= maint.end or op.end <= 60


def test_rul_beyond_horizon_adds_no_maintenance() -> None:
    assert not shop({"R": 30}, MachineRisk("R", p_fail=0.5, rul_low=900)).maintenance


def test_a_narrowed_window_maintains_only_the_machines_at_risk() -> None:
    """A site that calls a machine at risk below rul_low W hours or from p_fail P on maintains
    exactly those, not every machine whose low RUL quantile falls inside a long horizon."""
    risks = (
        MachineRisk("soon", p_fail=0.05, rul_low=30),  # rul_low inside the window
        MachineRisk("likely", p_fail=0.6, rul_low=None),  # p_fail over the threshold
        MachineRisk("healthy", p_fail=0.02, rul_low=300),  # inside the horizon, not at risk
    )
    problem = Problem(
        machines=tuple(Machine(r.machine) for r in risks),
        jobs=(),
        operations=(),
        horizon=500,
        risks=risks,
        crew_size=1,
        weights=WEIGHTS,
    )
    assert {t.machine for t in with_risk_maintenance(problem).maintenance} == {
        "soon", "healthy"
    }  # fmt: skip
    narrowed = with_risk_maintenance(problem, within=60, p_fail=0.3)
    assert {t.machine for t in narrowed.maintenance} == {"soon", "likely"}
    (likely,) = [t for t in narrowed.maintenance if t.machine == "likely"]
    assert likely.deadline is None, "no predicted failure inside the horizon: no deadline"


def test_work_moves_off_a_risky_machine_when_an_alternative_exists() -> None:
    problem = shop({"R": 30, "H": 35}, MachineRisk("R", p_fail=0.9, rul_low=None))
    result = solve(problem, 5)
    assert result.plan is not None
    assert {op.machine for op in result.plan.operations} == {"H"}
    assert all("moved off risky" in (op.reason or "") for op in result.plan.operations)


def test_without_risk_the_faster_machine_is_used() -> None:
    problem = shop({"R": 30, "H": 35}, MachineRisk("R", p_fail=0.0))
    result = solve(problem, 5)
    assert result.plan is not None
    assert "R" in {op.machine for op in result.plan.operations}


def test_work_on_a_risky_machine_without_alternative_waits_for_maintenance() -> None:
    # Expected failure cost of 30 units at this hazard outweighs 20 units of delay.
    problem = shop({"R": 30}, MachineRisk("R", p_fail=0.9, rul_low=300, hazard=0.01))
    result = solve(problem, 5)
    assert result.plan is not None
    (maint,) = result.plan.maintenance
    assert maint.start == 0
    assert all(op.start >= maint.end for op in result.plan.operations)
    assert all("after maint-R" in (op.reason or "") for op in result.plan.operations)


def test_unavoidable_late_maintenance_is_reported_and_no_work_crosses_the_failure() -> None:
    problem = shop({"R": 30}, MachineRisk("R", p_fail=0.9, rul_low=10))
    result = solve(problem, 5)
    assert result.status is SolveStatus.OPTIMAL and result.plan is not None
    (violation,) = result.plan.violations
    assert violation.subject == "R" and violation.amount == 10
    assert "risk R" in violation.message
    maint = result.plan.maintenance[0]
    assert all(op.start >= maint.end for op in result.plan.operations)


def test_frozen_work_past_failure_stays_and_the_late_maintenance_is_reported() -> None:
    # j0/0 is committed on R from 15 to 45, past rul_low 40: it stays where it is (it is
    # running), maintenance follows it, and the plan says maintenance is late.
    problem = shop({"R": 30}, MachineRisk("R", p_fail=0.9, rul_low=40))
    frozen = replace(problem, previous=(PlannedOperation("j0", 0, "R", 15),), frozen_until=21)
    result = solve(frozen, 5)
    assert result.status is SolveStatus.OPTIMAL and result.plan is not None
    assert (result.plan.operation("j0", 0).start, result.plan.operation("j0", 0).end) == (15, 45)
    (maint,) = result.plan.maintenance
    assert maint.start == 45
    (violation,) = result.plan.violations
    assert violation.constraint == "maintenance_deadline" and violation.amount == 25


def test_solver_objective_matches_the_plan_evaluation() -> None:
    problem = shop({"R": 30, "H": 45}, MachineRisk("R", p_fail=0.6, rul_low=100))
    result = solve(problem, 5)
    assert result.plan is not None and result.objective is not None
    total = evaluate(problem, result.plan)["total"] / problem.weights.scale
    assert total == result.objective
    assert result.plan.costs["total"] == result.objective


def test_rescheduling_keeps_the_previous_plan_when_nothing_changed() -> None:
    problem = shop({"R": 30, "H": 30}, MachineRisk("R", p_fail=0.0))
    first = solve(problem, 5)
    assert first.plan is not None
    previous = tuple(
        PlannedOperation(o.job, o.seq, o.machine, o.start) for o in first.plan.operations
    )
    again = solve(replace(problem, previous=previous), 5)
    assert again.plan is not None
    assert {(o.job, o.machine, o.start) for o in again.plan.operations} == {
        (o.job, o.machine, o.start) for o in first.plan.operations
    }
    assert again.plan.costs["change"] == 0
