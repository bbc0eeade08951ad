"""Validation of the problem records: one clear ValueError per kind of bad input."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from scheduler.objective_weights import ObjectiveWeights
from scheduler.problem import (
    Job,
    Machine,
    MachineRisk,
    MaintenanceTask,
    Operation,
    PlannedOperation,
    Problem,
    SetupTime,
)


def _problem(**overrides: object) -> Problem:
    values: dict[str, object] = {
        "machines": (Machine("A"), Machine("B")),
        "jobs": (Job("j"),),
        "operations": (Operation("j", 0, {"A": 3}), Operation("j", 1, {"B": 2})),
        "horizon": 100,
    }
    values.update(overrides)
    return Problem(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Machine(""), "non-empty name"),
        (lambda: Machine("A", unavailable=((5, 5),)), "is empty"),
        (lambda: Job("j", weight=-1), "weight"),
        (lambda: Operation("j", 0, {}), "no eligible machine"),
        (lambda: Operation("j", 0, {"A": 0}), "must be > 0"),
        (lambda: Operation("j", -1, {"A": 1}), "seq"),
        (lambda: SetupTime("A", "x", "x", 3), "two different jobs"),
        (lambda: SetupTime("A", "x", "y", -3), "negative"),
        (lambda: MaintenanceTask("t", "A", duration=0), "duration"),
        (lambda: MaintenanceTask("t", "A", duration=5, crew=0), "crew"),
        (lambda: MachineRisk("A", p_fail=1.0), "p_fail"),
        (lambda: MachineRisk("A", p_fail=0.1, rul_low=-1), "rul_low"),
        (lambda: MachineRisk("A", p_fail=0.1, hazard=-1.0), "hazard"),
        (lambda: ObjectiveWeights(makespan=-1), "makespan"),
        (lambda: _problem(horizon=0), "horizon"),
        (lambda: _problem(machines=(Machine("A"), Machine("A"))), "appears twice"),
        (lambda: _problem(operations=(Operation("x", 0, {"A": 1}),)), "unknown job"),
        (lambda: _problem(operations=(Operation("j", 0, {"Z": 1}),)), "unknown machine"),
        (lambda: _problem(operations=(Operation("j", 1, {"A": 1}),)), "seqs must be 0..n-1"),
        (lambda: _problem(risks=(MachineRisk("Z", 0.1),)), "unknown machine"),
        (lambda: _problem(maintenance=(MaintenanceTask("t", "Z", 5),)), "unknown machine"),
        (lambda: _problem(setups=(SetupTime("A", "j", "q", 1),)), "unknown job"),
        (
            lambda: _problem(previous=(PlannedOperation("j", 0, "B", 0),)),
            "ineligible machine",
        ),
    ],
)
def test_invalid_records_raise_one_sentence(build, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        build()


def test_a_release_in_the_past_starts_now_and_a_missed_deadline_is_allowed() -> None:
    job = Job("j", release=-90, deadline=-30)
    assert job.release == 0 and job.deadline == -30


def test_machine_closures_are_sorted_and_merged() -> None:
    machine = Machine("A", unavailable=((50, 60), (0, 10), (5, 20), (20, 25)))
    assert machine.unavailable == ((0, 25), (50, 60))


def test_clock_words_use_the_origin_when_known() -> None:
    from datetime import UTC, datetime

    assert _problem().clock(17) == "minute 17"
    problem = _problem(origin=datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    assert problem.clock(75) == "Tue 2026-12-01 09:15 UTC"


def test_hazard_follows_from_p_fail_when_not_given() -> None:
    risk = MachineRisk("A", p_fail=0.5, window=100)
    assert risk.rate == pytest.approx(math.log(2) / 100)
    assert MachineRisk("A", p_fail=0.5, hazard=0.01).rate == 0.01


def test_frozen_operations_are_those_started_before_the_window_end() -> None:
    problem = _problem(
        previous=(PlannedOperation("j", 0, "A", 0), PlannedOperation("j", 1, "B", 10)),
        frozen_until=5,
    )
    assert set(problem.frozen()) == {("j", 0)}


def test_index_maps_answer_lookups_and_survive_replace() -> None:
    problem = _problem(
        jobs=(Job("j"), Job("k", due=9)),
        operations=(
            Operation("k", 1, {"A": 1}),
            Operation("j", 1, {"B": 2}),
            Operation("k", 0, {"B": 4}),
            Operation("j", 0, {"A": 3}),
        ),
        risks=(MachineRisk("B", p_fail=0.2),),
    )
    assert problem.job("k").due == 9
    assert [op.key for op in problem.job_operations("k")] == [("k", 0), ("k", 1)]
    assert [op.key for op in problem.job_operations("j")] == [("j", 0), ("j", 1)]
    assert problem.job_operations("nope") == []
    assert problem.risk("B") == MachineRisk("B", p_fail=0.2)
    assert problem.risk("A") is None
    with pytest.raises(KeyError):
        problem.job("nope")
    moved = replace(problem, risks=(MachineRisk("A", p_fail=0.1),))
    assert moved.risk("B") is None
    assert moved.risk("A") == MachineRisk("A", p_fail=0.1)
    assert moved == replace(moved)
