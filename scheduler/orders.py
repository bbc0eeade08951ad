"""Orders (jobs) and their steps (operations): the state machine, over the jobs tables.

Pure of HTTP: inputs are plain attributes (the API's schemas fit the protocols below),
outputs frozen records, refusals the errors of :mod:`scheduler.errors` (the API translates
them: not found 404, conflict 409, invalid 422).

Each function is one transaction. Rows are locked (`FOR UPDATE`) before a state check so two
concurrent requests cannot both pass it. State rules:

- a job is open while `pending` or `in_progress`; `done` and `cancelled` jobs cannot change
  (`job_closed`);
- the routing can be replaced while no step has started; a single step can be edited or
  cancelled while it is `pending`;
- a step starts (shop floor) when it is `pending` and every earlier step is done or
  cancelled, on one of its eligible machines; it finishes when `in_progress`, not before it
  started;
- the job's status follows its steps: `in_progress` once one has started or finished,
  `done` when none is left to do (`cancelled` if none was ever done).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg

from millwright.core.storage.database import Database
from scheduler.errors import FieldProblem, OrderConflict, OrderInvalid, OrderNotFound

Conn = psycopg.Connection[Any]
CLOCK_SKEW = timedelta(minutes=5)  # shop-floor clocks may run a little ahead
_JOB_COLUMNS = "id, external_id, release_at, due_at, weight, value, status, created_at, updated_at"


# --- what comes in (the API's request schemas have these attributes) -----------------------


class OptionSpec(Protocol):
    @property
    def machine(self) -> str: ...
    @property
    def duration_s(self) -> int: ...


class StepSpec(Protocol):
    @property
    def seq(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def options(self) -> Sequence[OptionSpec]: ...


class Routing(Protocol):
    @property
    def operations(self) -> Sequence[StepSpec]: ...


class NewOrder(Routing, Protocol):
    @property
    def external_id(self) -> str: ...
    @property
    def release_at(self) -> datetime: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def weight(self) -> float: ...
    @property
    def value(self) -> float: ...


class OrderChange(Protocol):
    """Fields left None stay as they are."""

    @property
    def release_at(self) -> datetime | None: ...
    @property
    def due_at(self) -> datetime | None: ...
    @property
    def weight(self) -> float | None: ...
    @property
    def value(self) -> float | None: ...


class StepChange(Protocol):
    @property
    def name(self) -> str | None: ...
    @property
    def options(self) -> Sequence[OptionSpec] | None: ...


# --- what goes out ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StepOption:
    machine: str
    duration_s: int


@dataclass(frozen=True)
class Step:
    """One operation of an order: where it may run, and where and when it did."""

    seq: int
    name: str
    status: str  # pending, in_progress, done, cancelled
    machine: str | None
    started_at: datetime | None
    finished_at: datetime | None
    options: tuple[StepOption, ...]


@dataclass(frozen=True)
class Order:
    """A job with its steps, as stored."""

    external_id: str
    release_at: datetime
    due_at: datetime
    weight: float
    value: float
    status: str  # pending, in_progress, done, cancelled
    created_at: datetime
    updated_at: datetime
    operations: tuple[Step, ...]


@dataclass(frozen=True)
class OrderPage:
    items: tuple[Order, ...]
    total: int


def create_order(database: Database, body: NewOrder) -> Order:
    with database.connection() as conn:
        machines = _machine_ids(conn, _option_locs(body.operations, "operations"))
        row = conn.execute(
            "INSERT INTO jobs (external_id, release_at, due_at, weight, value)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (external_id) DO NOTHING RETURNING id",
            (body.external_id, body.release_at, body.due_at, body.weight, body.value),
        ).fetchone()
        if row is None:
            raise OrderConflict(f"job {body.external_id} already exists", code="job_exists")
        _insert_operations(conn, row[0], body.operations, machines)
        return _read_jobs(conn, [row[0]])[0]


def get_order(database: Database, external_id: str) -> Order:
    with database.connection() as conn:
        return _read_jobs(conn, [_job_id(conn, external_id, lock=False)])[0]


def list_orders(database: Database, status: str | None, limit: int, offset: int) -> OrderPage:
    with database.connection() as conn:
        rows = conn.execute(
            "SELECT id, count(*) OVER () FROM jobs WHERE (%s::text IS NULL OR status = %s)"
            " ORDER BY id LIMIT %s OFFSET %s",
            (status, status, limit, offset),
        ).fetchall()
        if not rows and offset:
            total = conn.execute(
                "SELECT count(*) FROM jobs WHERE (%s::text IS NULL OR status = %s)",
                (status, status),
            ).fetchone()
            return OrderPage(items=(), total=int(total[0]) if total else 0)
        items = _read_jobs(conn, [r[0] for r in rows])
        return OrderPage(items=tuple(items), total=int(rows[0][1]) if rows else 0)


def update_order(database: Database, external_id: str, body: OrderChange) -> Order:
    with database.connection() as conn:
        job_id = _job_id(conn, external_id)
        (current,) = _read_jobs(conn, [job_id])
        _require_open(current)
        release = body.release_at or current.release_at
        due = body.due_at or current.due_at
        if due < release:
            raise OrderInvalid(
                f"due_at {due.isoformat()} would be before release_at {release.isoformat()}",
                details=[_detail("due_at", "must not be before release_at")],
            )
        weight = current.weight if body.weight is None else body.weight
        value = current.value if body.value is None else body.value
        conn.execute(
            "UPDATE jobs SET release_at = %s, due_at = %s, weight = %s, value = %s,"
            " updated_at = now() WHERE id = %s",
            (release, due, weight, value, job_id),
        )
        return _read_jobs(conn, [job_id])[0]


def cancel_order(database: Database, external_id: str) -> Order:
    """Cancel the job and every step not yet done; cancelling twice is harmless."""
    with database.connection() as conn:
        job_id = _job_id(conn, external_id)
        (current,) = _read_jobs(conn, [job_id])
        if current.status == "done":
            raise OrderConflict(f"job {external_id} is already done", code="job_closed")
        if current.status != "cancelled":
            conn.execute(
                "UPDATE operations SET status = 'cancelled' WHERE job_id = %s"
                " AND status IN ('pending', 'in_progress')",
                (job_id,),
            )
            conn.execute(
                "UPDATE jobs SET status = 'cancelled', updated_at = now() WHERE id = %s", (job_id,)
            )
        return _read_jobs(conn, [job_id])[0]


def replace_routing(database: Database, external_id: str, body: Routing) -> Order:
    with database.connection() as conn:
        job_id = _job_id(conn, external_id)
        (current,) = _read_jobs(conn, [job_id])
        _require_open(current)
        if any(op.status != "pending" for op in current.operations):
            raise OrderConflict(
                f"job {external_id} has steps started, done or cancelled; edit single steps",
                code="routing_started",
            )
        machines = _machine_ids(conn, _option_locs(body.operations, "operations"))
        conn.execute("DELETE FROM operations WHERE job_id = %s", (job_id,))
        _insert_operations(conn, job_id, body.operations, machines)
        conn.execute("UPDATE jobs SET updated_at = now() WHERE id = %s", (job_id,))
        return _read_jobs(conn, [job_id])[0]


def update_step(database: Database, external_id: str, seq: int, body: StepChange) -> Order:
    with database.connection() as conn:
        job_id, op_id, _ = _pending_operation(conn, external_id, seq)
        if body.name is not None:
            conn.execute("UPDATE operations SET name = %s WHERE id = %s", (body.name, op_id))
        if body.options is not None:
            locs = [(f"options.{k}.machine", o.machine) for k, o in enumerate(body.options)]
            machines = _machine_ids(conn, locs)
            conn.execute("DELETE FROM operation_options WHERE operation_id = %s", (op_id,))
            _insert_options(conn, op_id, body.options, machines)
        conn.execute("UPDATE jobs SET updated_at = now() WHERE id = %s", (job_id,))
        return _read_jobs(conn, [job_id])[0]


def cancel_step(database: Database, external_id: str, seq: int) -> Order:
    with database.connection() as conn:
        job_id = _job_id(conn, external_id)
        (job,) = _read_jobs(conn, [job_id])
        op = _operation(job, seq)
        if op.status != "cancelled":
            _require_open(job)
            if op.status != "pending":
                raise OrderConflict(
                    f"step {seq} of job {external_id} is {op.status}; only pending steps can be"
                    " cancelled",
                    code="operation_not_pending",
                )
            conn.execute(
                "UPDATE operations SET status = 'cancelled' WHERE job_id = %s AND seq = %s",
                (job_id, seq),
            )
            _settle(conn, job_id)
        return _read_jobs(conn, [job_id])[0]


def start_step(
    database: Database,
    external_id: str,
    seq: int,
    machine: str,
    at: datetime | None = None,
    *,
    max_skew: timedelta = CLOCK_SKEW,
) -> Order:
    """The shop floor started step `seq` on `machine` at `at` (default now)."""
    at = _reported_time(at, max_skew)
    with database.connection() as conn:
        job_id, _, op = _pending_operation(conn, external_id, seq)
        if machine not in {o.machine for o in op.options}:
            eligible = ", ".join(sorted(o.machine for o in op.options))
            raise OrderInvalid(
                f"step {seq} of job {external_id} cannot run on {machine}; eligible: {eligible}",
                details=[_detail("machine", f"not eligible; expected one of {eligible}")],
            )
        (job,) = _read_jobs(conn, [job_id])
        waiting = [
            o.seq for o in job.operations if o.seq < seq and o.status in ("pending", "in_progress")
        ]
        if waiting:
            raise OrderConflict(
                f"step {seq} of job {external_id} cannot start before step {waiting[0]} is done",
                code="predecessor_unfinished",
            )
        conn.execute(
            "UPDATE operations SET status = 'in_progress', started_at = %s,"
            " machine_id = (SELECT id FROM machines WHERE name = %s)"
            " WHERE job_id = %s AND seq = %s",
            (at, machine, job_id, seq),
        )
        _settle(conn, job_id)
        return _read_jobs(conn, [job_id])[0]


def finish_step(
    database: Database,
    external_id: str,
    seq: int,
    at: datetime | None = None,
    *,
    max_skew: timedelta = CLOCK_SKEW,
) -> Order:
    """The shop floor finished step `seq` at `at` (default now)."""
    at = _reported_time(at, max_skew)
    with database.connection() as conn:
        job_id = _job_id(conn, external_id)
        (job,) = _read_jobs(conn, [job_id])
        op = _operation(job, seq)
        if op.status != "in_progress":
            raise OrderConflict(
                f"step {seq} of job {external_id} is {op.status}; only a started step can finish",
                code="operation_not_started",
            )
        if op.started_at is not None and at < op.started_at:
            raise OrderInvalid(
                f"finish time {at.isoformat()} is before the start {op.started_at.isoformat()}",
                details=[_detail("at", "must not be before the step's start")],
            )
        conn.execute(
            "UPDATE operations SET status = 'done', finished_at = %s"
            " WHERE job_id = %s AND seq = %s",
            (at, job_id, seq),
        )
        _settle(conn, job_id)
        return _read_jobs(conn, [job_id])[0]


# --- helpers ------------------------------------------------------------------------------


def _detail(loc: str, message: str, kind: str = "value_error") -> FieldProblem:
    return FieldProblem(loc, message, kind)


def _reported_time(at: datetime | None, max_skew: timedelta = CLOCK_SKEW) -> datetime:
    now = datetime.now(UTC)
    if at is None:
        return now
    if at > now + max_skew:
        raise OrderInvalid(
            f"reported time {at.isoformat()} is in the future",
            details=[_detail("at", "must not be in the future")],
        )
    return at


def _option_locs(operations: Sequence[StepSpec], prefix: str) -> list[tuple[str, str]]:
    return [
        (f"{prefix}.{i}.options.{k}.machine", option.machine)
        for i, op in enumerate(operations)
        for k, option in enumerate(op.options)
    ]


def _machine_ids(conn: Conn, locs: list[tuple[str, str]]) -> dict[str, int]:
    """Machine ids by name; 422 naming every unknown machine and where it was given."""
    names = sorted({name for _, name in locs})
    rows = conn.execute("SELECT name, id FROM machines WHERE name = ANY(%s)", (names,)).fetchall()
    known = {name: machine_id for name, machine_id in rows}
    unknown = [(loc, name) for loc, name in locs if name not in known]
    if unknown:
        raise OrderInvalid(
            f"unknown machine {unknown[0][1]!r} at {unknown[0][0]}"
            + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""),
            details=[
                _detail(loc, f"no machine named {name!r}", "unknown_machine")
                for loc, name in unknown
            ],
        )
    return known


def _insert_operations(
    conn: Conn, job_id: int, operations: Sequence[StepSpec], machines: dict[str, int]
) -> None:
    for op in sorted(operations, key=lambda o: o.seq):
        row = conn.execute(
            "INSERT INTO operations (job_id, seq, name) VALUES (%s, %s, %s) RETURNING id",
            (job_id, op.seq, op.name),
        ).fetchone()
        assert row is not None
        _insert_options(conn, row[0], op.options, machines)


def _insert_options(
    conn: Conn, op_id: int, options: Sequence[OptionSpec], machines: dict[str, int]
) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO operation_options (operation_id, machine_id, duration_s)"
            " VALUES (%s, %s, %s)",
            [(op_id, machines[o.machine], o.duration_s) for o in options],
        )


def _job_id(conn: Conn, external_id: str, lock: bool = True) -> int:
    sql = "SELECT id FROM jobs WHERE external_id = %s" + (" FOR UPDATE" if lock else "")
    row = conn.execute(sql, (external_id,)).fetchone()
    if row is None:
        raise OrderNotFound(f"no job {external_id!r}", code="job_not_found")
    return int(row[0])


def _require_open(job: Order) -> None:
    if job.status not in ("pending", "in_progress"):
        raise OrderConflict(
            f"job {job.external_id} is {job.status} and cannot change", code="job_closed"
        )


def _operation(job: Order, seq: int) -> Step:
    op = next((o for o in job.operations if o.seq == seq), None)
    if op is None:
        raise OrderNotFound(f"job {job.external_id} has no step {seq}", code="operation_not_found")
    return op


def _pending_operation(conn: Conn, external_id: str, seq: int) -> tuple[int, int, Step]:
    job_id = _job_id(conn, external_id)
    (job,) = _read_jobs(conn, [job_id])
    _require_open(job)
    op = _operation(job, seq)
    if op.status != "pending":
        raise OrderConflict(
            f"step {seq} of job {external_id} is {op.status}, not pending",
            code="operation_not_pending",
        )
    row = conn.execute(
        "SELECT id FROM operations WHERE job_id = %s AND seq = %s", (job_id, seq)
    ).fetchone()
    assert row is not None
    return job_id, int(row[0]), op


def _settle(conn: Conn, job_id: int) -> None:
    """The job's status from its steps' (never reopens a cancelled job)."""
    conn.execute(
        "UPDATE jobs j SET updated_at = now(), status = CASE"
        "  WHEN s.open = 0 AND s.done > 0 THEN 'done'"
        "  WHEN s.open = 0 THEN 'cancelled'"
        "  WHEN s.started > 0 OR s.done > 0 THEN 'in_progress' ELSE 'pending' END"
        " FROM (SELECT count(*) FILTER (WHERE status IN ('pending', 'in_progress')) AS open,"
        "        count(*) FILTER (WHERE status = 'done') AS done,"
        "        count(*) FILTER (WHERE status = 'in_progress') AS started"
        "       FROM operations WHERE job_id = %s) s"
        " WHERE j.id = %s AND j.status <> 'cancelled'",
        (job_id, job_id),
    )


def _read_jobs(conn: Conn, job_ids: list[int]) -> list[Order]:
    """Jobs with their steps and options, in the order of `job_ids`."""
    if not job_ids:
        return []
    jobs = {
        row[0]: row
        for row in conn.execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ANY(%s)", (job_ids,)
        ).fetchall()
    }
    steps: dict[int, list[Step]] = {job_id: [] for job_id in job_ids}
    for job_id, seq, name, status, machine, started, finished, options in conn.execute(
        "SELECT o.job_id, o.seq, o.name, o.status, m.name, o.started_at, o.finished_at,"
        " coalesce((SELECT json_agg(json_build_object('machine', om.name,"
        "   'duration_s', oo.duration_s) ORDER BY om.name)"
        "   FROM operation_options oo JOIN machines om ON om.id = oo.machine_id"
        "   WHERE oo.operation_id = o.id), '[]'::json)"
        " FROM operations o LEFT JOIN machines m ON m.id = o.machine_id"
        " WHERE o.job_id = ANY(%s) ORDER BY o.job_id, o.seq",
        (job_ids,),
    ):
        steps[job_id].append(
            Step(
                seq=seq, name=name, status=status, machine=machine, started_at=started,
                finished_at=finished, options=tuple(StepOption(**o) for o in options),
            )
        )  # fmt: skip
    found = []
    for job_id in job_ids:
        _, external_id, release, due, weight, value, status, created, updated = jobs[job_id]
        found.append(
            Order(
                external_id=external_id, release_at=release, due_at=due, weight=weight,
                value=value, status=status, created_at=created, updated_at=updated,
                operations=tuple(steps[job_id]),
            )
        )  # fmt: skip
    return found
