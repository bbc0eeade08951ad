"""Reading schedules and the current plan: whole, per machine (dispatch list), per job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.errors import NotFound
from api.schemas import (
    AssignmentPublic,
    JobPlan,
    JobPlanPublic,
    MachineDispatch,
    MachinePlan,
    PlanPublic,
    PlanStatusPublic,
    SchedulePublic,
    TradeoffPublic,
    UnplacedPublic,
    ViolationPublic,
)
from millwright.core.storage.database import Database
from scheduler import ScheduleRecord, get_schedule, plan_status

_ASSIGNMENTS = (
    "SELECT a.kind, m.name, j.external_id, o.seq, coalesce(o.name, a.reason->>'task'),"
    " a.start_at, a.end_at, a.reason"
    " FROM schedule_assignments a JOIN machines m ON m.id = a.machine_id"
    " LEFT JOIN operations o ON o.id = a.operation_id LEFT JOIN jobs j ON j.id = o.job_id"
    " WHERE a.schedule_id = %s"
)


def schedule_public(record: ScheduleRecord) -> SchedulePublic:
    summary = record.summary or {}
    return SchedulePublic(
        id=record.id, state=record.state, requested_at=record.requested_at,
        requested_by=record.requested_by, solver_status=record.solver_status,
        objective=record.objective, bound=record.bound, runtime_s=record.runtime_s,
        time_limit_s=record.time_limit_s, plan_start=record.plan_start,
        is_current=record.is_current, finished_at=record.finished_at, error=record.error,
        explanations=list(summary.get("explanations", [])),
        violations=[ViolationPublic(**v) for v in summary.get("violations", [])],
        degraded=bool(summary.get("degraded")),
        status_reason=summary.get("reason") or record.error,
        unplaced=[UnplacedPublic(**u) for u in summary.get("unplaced", [])],
        released=list(summary.get("released", [])),
        moved_operations=summary.get("moved_operations"),
        affected_operations=summary.get("affected_operations"),
        resequenced_operations=summary.get("resequenced_operations"),
        shifted_operations=summary.get("shifted_operations"),
        tradeoff=TradeoffPublic(**summary["tradeoff"]) if summary.get("tradeoff") else None,
    )  # fmt: skip


def read_schedule(database: Database, schedule_id: int) -> SchedulePublic:
    record = get_schedule(database, schedule_id)
    if record is None:
        raise NotFound(f"no schedule {schedule_id}", code="schedule_not_found")
    return schedule_public(record)


def _current(database: Database) -> ScheduleRecord:
    rows = database.execute("SELECT id FROM schedules WHERE is_current")
    record = get_schedule(database, rows[0][0]) if rows else None
    if record is None:
        raise NotFound(
            "there is no current plan yet; request one with POST /api/v1/schedules",
            code="no_current_plan",
        )
    return record


def _assignment(row: tuple[Any, ...]) -> AssignmentPublic:
    kind, machine, job, seq, name, start, end, reason = row
    return AssignmentPublic(
        kind=kind, machine=machine, job=job, seq=seq, name=name, start_at=start, end_at=end,
        reason=reason or {},
    )  # fmt: skip


def current_plan(database: Database) -> PlanPublic:
    record = _current(database)
    rows = database.execute(_ASSIGNMENTS + " ORDER BY m.name, a.start_at", (record.id,))
    machines: dict[str, list[AssignmentPublic]] = {}
    by_job: dict[str, list[AssignmentPublic]] = {}
    for row in rows:
        item = _assignment(row)
        machines.setdefault(item.machine, []).append(item)
        if item.job is not None:
            by_job.setdefault(item.job, []).append(item)
    jobs = [
        _job_plan(database, record, job, sorted(items, key=lambda i: i.seq or 0))
        for job, items in sorted(by_job.items())
    ]
    status = plan_status(database)
    return PlanPublic(
        schedule=schedule_public(record),
        status=PlanStatusPublic(
            stale=status.stale,
            stale_reason=status.stale_reason,
            failed_schedule_id=status.failed_schedule_id,
        ),
        machines=[MachinePlan(machine=m, items=items) for m, items in sorted(machines.items())],
        jobs=jobs,
    )


def machine_dispatch(database: Database, machine: str) -> MachineDispatch:
    if not database.execute("SELECT 1 FROM machines WHERE name = %s", (machine,)):
        raise NotFound(f"no machine {machine!r}", code="machine_not_found")
    record = _current(database)
    rows = database.execute(
        _ASSIGNMENTS + " AND m.name = %s ORDER BY a.start_at", (record.id, machine)
    )
    return MachineDispatch(
        schedule_id=record.id, plan_start=record.plan_start, machine=machine,
        items=[_assignment(r) for r in rows],
    )  # fmt: skip


def job_plan(database: Database, external_id: str) -> JobPlanPublic:
    if not database.execute("SELECT 1 FROM jobs WHERE external_id = %s", (external_id,)):
        raise NotFound(f"no job {external_id!r}", code="job_not_found")
    record = _current(database)
    rows = database.execute(
        _ASSIGNMENTS + " AND j.external_id = %s ORDER BY o.seq", (record.id, external_id)
    )
    plan = _job_plan(database, record, external_id, [_assignment(r) for r in rows])
    return JobPlanPublic(schedule_id=record.id, **plan.model_dump())


def _job_plan(
    database: Database, record: ScheduleRecord, job: str, items: list[AssignmentPublic]
) -> JobPlan:
    due_rows = database.execute("SELECT due_at FROM jobs WHERE external_id = %s", (job,))
    due: datetime = due_rows[0][0]
    outcome = next((o for o in record.summary.get("jobs", []) if o.get("job") == job), None)
    left_out = [
        UnplacedPublic(**u)
        for u in record.summary.get("unplaced", [])
        if u.get("subject", "").rsplit("/", 1)[0] == job
    ]
    return JobPlan(
        unplaced=left_out,
        job=job,
        due_at=due,
        completion_at=outcome["completion_at"] if outcome else None,
        lateness_minutes=outcome["lateness_minutes"] if outcome else None,
        operations=items,
    )
