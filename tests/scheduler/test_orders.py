"""The order (job) state machine without HTTP: plain records in, scheduler errors out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from millwright.core.storage.database import Database
from scheduler import (
    OrderConflict,
    OrderInvalid,
    OrderNotFound,
    cancel_order,
    create_order,
    finish_step,
    get_order,
    start_step,
)
from tests.scheduler.plant import seed_machines

# Shop-floor reports may not be in the future: an hour ago, whole minutes.
NOW = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)


@dataclass(frozen=True)
class Option:
    machine: str
    duration_s: int


@dataclass(frozen=True)
class StepIn:
    seq: int
    name: str
    options: tuple[Option, ...]


@dataclass(frozen=True)
class NewOrder:
    external_id: str
    operations: tuple[StepIn, ...]
    release_at: object = NOW
    due_at: object = NOW + timedelta(hours=8)
    weight: float = 1.0
    value: float = 1.0


def _order(machine: str = "M2") -> NewOrder:
    return NewOrder(
        "J1",
        (StepIn(0, "turn", (Option("M1", 600),)), StepIn(1, "mill", (Option(machine, 900),))),
    )


def test_steps_run_in_order_and_settle_the_job(database: Database) -> None:
    seed_machines(database)
    created = create_order(database, _order())  # type: ignore[arg-type]
    assert created.status == "pending" and [s.seq for s in created.operations] == [0, 1]
    with pytest.raises(OrderConflict) as early:
        start_step(database, "J1", 1, "M2", NOW)
    assert early.value.code == "predecessor_unfinished"
    start_step(database, "J1", 0, "M1", NOW)
    assert get_order(database, "J1").status == "in_progress"
    finish_step(database, "J1", 0, NOW + timedelta(minutes=10))
    start_step(database, "J1", 1, "M2", NOW + timedelta(minutes=10))
    done = finish_step(database, "J1", 1, NOW + timedelta(minutes=25))
    assert done.status == "done" and [s.status for s in done.operations] == ["done", "done"]
    with pytest.raises(OrderConflict) as closed:
        cancel_order(database, "J1")
    assert closed.value.code == "job_closed"


def test_refusals_name_what_and_where(database: Database) -> None:
    seed_machines(database)
    with pytest.raises(OrderInvalid) as unknown:
        create_order(database, _order(machine="M9"))  # type: ignore[arg-type]
    (problem,) = unknown.value.details
    assert (problem.loc, problem.kind) == ("operations.1.options.0.machine", "unknown_machine")
    create_order(database, _order())  # type: ignore[arg-type]
    with pytest.raises(OrderInvalid) as ineligible:
        start_step(database, "J1", 0, "M3", NOW)
    assert ineligible.value.details[0].loc == "machine"
    with pytest.raises(OrderNotFound) as missing:
        get_order(database, "J9")
    assert missing.value.code == "job_not_found"
