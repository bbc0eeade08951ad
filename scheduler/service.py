"""Solve orchestration: schedule requests are rows, a worker turns them into plans.

The API only inserts a `schedules` row in state `requested`; any number of workers
(`millwright schedule run`) claim rows with `FOR UPDATE SKIP LOCKED`, so a request is solved
exactly once even with several workers, and a request survives an API restart. The solve runs
outside any transaction (it takes seconds); the plan is written in one transaction that also
marks it current. A worker that dies mid-solve leaves its claim behind; after a grace period
the claim is re-queued.

State machine of a schedule: requested -> solving -> done | failed (failed also when the input
is bad or the solver found no plan; the row says why, the worker carries on). A plan degraded
to the dispatching rule's (`feasible (dispatch)`) is done and current, and says so; after a
failure the previous plan stays current but is stale (`plan_status`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from millwright.core.storage.database import Database
from millwright.core.storage.replans import queue_replan
from scheduler.config import SchedulerConfig
from scheduler.cpsat import solve
from scheduler.plan import Result
from scheduler.store import LoadedProblem, load_problem, plan_summary, save_plan

log = logging.getLogger(__name__)

MAX_TIME_LIMIT_S = 600.0  # the most a single request may ask the solver for

_COLUMNS = (
    "id, state, requested_at, requested_by, solver_status, objective, bound, runtime_s,"
    " plan_start, is_current, summary, error, finished_at, time_limit_s"
)


@dataclass(frozen=True)
class ScheduleRecord:
    """One schedule request and, once solved, its outcome."""

    id: int
    state: str
    requested_at: datetime
    requested_by: str | None
    solver_status: str | None
    objective: float | None
    bound: float | None
    runtime_s: float | None
    plan_start: datetime | None
    is_current: bool
    summary: dict[str, Any]
    error: str | None
    finished_at: datetime | None
    time_limit_s: float | None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> ScheduleRecord:
        return cls(*row)


def request_schedule(
    database: Database, requested_by: str | None, time_limit_s: float | None = None
) -> ScheduleRecord:
    """Queue a (re)schedule. A request still waiting with the same time limit is reused: two
    reschedules asked for before a worker picks either up would solve the same snapshot."""
    record = get_schedule(database, queue_replan(database, requested_by, time_limit_s))
    assert record is not None
    return record


def get_schedule(database: Database, schedule_id: int) -> ScheduleRecord | None:
    rows = database.execute(f"SELECT {_COLUMNS} FROM schedules WHERE id = %s", (schedule_id,))
    return ScheduleRecord.from_row(rows[0]) if rows else None


def list_schedules(database: Database, limit: int = 20, offset: int = 0) -> list[ScheduleRecord]:
    rows = database.execute(
        f"SELECT {_COLUMNS} FROM schedules ORDER BY id DESC LIMIT %s OFFSET %s", (limit, offset)
    )
    return [ScheduleRecord.from_row(row) for row in rows]


@dataclass(frozen=True)
class PlanStatus:
    """Whether the current plan can be trusted: its solver status (`feasible (dispatch)` when
    degraded), and whether a later request failed, leaving it current but stale."""

    schedule_id: int | None
    status: str | None
    degraded: bool
    reason: str | None
    stale: bool
    stale_reason: str | None
    failed_schedule_id: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "schedule_id": self.schedule_id,
            "status": self.status,
            "degraded": self.degraded,
            "reason": self.reason,
            "stale": self.stale,
            "stale_reason": self.stale_reason,
            "failed_schedule_id": self.failed_schedule_id,
        }


def plan_status(database: Database) -> PlanStatus:
    """The current plan's status, and the newest failed request after it (if any)."""
    rows = database.execute(
        "SELECT id, solver_status, summary, requested_at FROM schedules WHERE is_current"
    )
    current = rows[0] if rows else None
    failed = database.execute(
        "SELECT id, error FROM schedules WHERE state = 'failed'"
        " AND (%s::timestamptz IS NULL OR requested_at > %s) ORDER BY requested_at DESC LIMIT 1",
        (current[3] if current else None, current[3] if current else None),
    )
    summary = (current[2] or {}) if current else {}
    return PlanStatus(
        schedule_id=current[0] if current else None,
        status=current[1] if current else None,
        degraded=bool(summary.get("degraded")),
        reason=summary.get("reason"),
        stale=bool(current and failed),
        stale_reason=failed[0][1] if failed else None,
        failed_schedule_id=failed[0][0] if failed else None,
    )


def claim_next(database: Database, worker: str) -> int | None:
    """Take the oldest requested schedule for this worker; None when the queue is empty."""
    rows = database.execute(
        "UPDATE schedules SET state = 'solving', claimed_at = now(), claimed_by = %s"
        " WHERE id = (SELECT id FROM schedules WHERE state = 'requested'"
        "   ORDER BY requested_at, id FOR UPDATE SKIP LOCKED LIMIT 1)"
        " RETURNING id",
        (worker,),
    )
    return int(rows[0][0]) if rows else None


def requeue_stale(database: Database, older_than_s: float) -> int:
    """Put back claims older than `older_than_s` (their worker died); returns how many."""
    rows = database.execute(
        "UPDATE schedules SET state = 'requested', claimed_at = NULL, claimed_by = NULL"
        " WHERE state = 'solving' AND claimed_at < now() - make_interval(secs => %s)"
        " RETURNING id",
        (older_than_s,),
    )
    for (schedule_id,) in rows:
        log.warning("re-queued schedule %s: its worker stopped answering", schedule_id)
    return len(rows)


def solve_schedule(
    database: Database,
    config: SchedulerConfig,
    schedule_id: int,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> ScheduleRecord:
    """Load, solve and store one claimed schedule; never raises for bad input or no plan.

    `stop` (the worker's stop signal) ends the solve early with the best plan found, which
    is stored like any other, so a stopping worker never holds a claim for a whole limit."""
    now = now or datetime.now(UTC)
    rows = database.execute("SELECT time_limit_s FROM schedules WHERE id = %s", (schedule_id,))
    limit = rows[0][0] if rows and rows[0][0] is not None else config.time_limit_s
    try:
        with database.connection() as conn:
            loaded = load_problem(conn, config, now)
    except ValueError as exc:  # the data cannot form a valid problem: say so, carry on
        log.warning("schedule %s: invalid problem: %s", schedule_id, exc)
        _fail(database, schedule_id, None, None, f"invalid problem: {exc}")
    else:
        result = solve(
            loaded.problem, limit, config.num_workers, scope=config.replan_scope, stop=stop,
            max_loss=config.replan_max_loss,
        )  # fmt: skip
        log.info(
            "schedule %s: %s, objective %s, bound %s, %.2f s, %s moved%s",
            schedule_id, result.status.value, result.objective, result.bound, result.runtime,
            result.moved_operations, f" ({result.reason})" if result.reason else "",
        )  # fmt: skip
        if result.plan is not None:
            with database.connection() as conn:
                save_plan(conn, schedule_id, loaded, result)
        else:
            reason = "; ".join(result.explanations) or (
                f"no plan found ({result.status.value}) within {limit:g} s"
            )
            _fail(database, schedule_id, loaded, result, reason)
    record = get_schedule(database, schedule_id)
    assert record is not None
    return record


def _fail(
    database: Database,
    schedule_id: int,
    loaded: LoadedProblem | None,
    result: Result | None,
    error: str,
) -> None:
    from psycopg.types.json import Jsonb

    summary = plan_summary(loaded, result) if loaded and result else {}
    database.execute(
        "UPDATE schedules SET state = 'failed', solver_status = %s, runtime_s = %s,"
        " plan_start = %s, summary = %s, error = %s, finished_at = now() WHERE id = %s",
        (
            result.status.value if result else None,
            result.runtime if result else None,
            loaded.plan_start if loaded else None,
            Jsonb(summary),
            error,
            schedule_id,
        ),
    )


def run_once(
    database: Database,
    config: SchedulerConfig,
    worker: str | None = None,
    stop: threading.Event | None = None,
) -> ScheduleRecord | None:
    """Solve the oldest waiting request, if any (`stop` ends the solve early)."""
    schedule_id = claim_next(database, worker or worker_name())
    if schedule_id is None:
        return None
    try:
        return solve_schedule(database, config, schedule_id, stop=stop)
    except Exception as exc:  # a bug or lost database must not leave the row 'solving'
        log.exception("schedule %s failed", schedule_id)
        try:
            _fail(database, schedule_id, None, None, f"internal error: {type(exc).__name__}")
        except Exception:
            log.exception("could not record the failure of schedule %s", schedule_id)
        raise


def run_worker(
    database: Database,
    config: SchedulerConfig,
    stop: threading.Event | None = None,
    once: bool = False,
) -> int:
    """Solve requests until `stop` is set (or, with `once`, until the queue is empty).

    Returns how many schedules were processed. Claims older than three of the longest time
    limits plus a minute are taken back from dead workers before each claim.
    """
    stop = stop or threading.Event()
    worker = worker_name()
    done = 0
    while not stop.is_set():
        requeue_stale(database, max(config.time_limit_s, MAX_TIME_LIMIT_S) * 3 + 60)
        try:
            record = run_once(database, config, worker, stop)
        except Exception:
            if once:
                raise
            stop.wait(config.worker_poll_s)
            continue
        if record is not None:
            done += 1
            continue
        if once:
            break
        stop.wait(config.worker_poll_s)
    return done


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"
