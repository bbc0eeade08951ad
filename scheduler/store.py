"""Database I/O of the scheduler: load a `Problem` from the plant's tables, save a `Plan` back.

The model works in integer minutes relative to a plan start; the database speaks UTC
timestamps and seconds. This module is the only place that converts between the two, and it
remembers (in `LoadedProblem`) which job/seq and machine names map to which database rows so
the plan can be written back by id.

What the database says becomes the problem like this:

- machines: every machine; `offline` ones are offline in the model (their work moves to
  other eligible machines, work that cannot move is left out and reported as waiting for
  them, they get no risk maintenance and their risk is not loaded), `machine_downtime` spans
  (planned downtime, a breakdown) become calendar gaps;
- jobs `pending`/`in_progress` with their `pending`/`in_progress` operations, renumbered
  0..n-1 (done and cancelled steps drop out); a job's release is never before its last
  finished step;
- an operation already running is pinned where it runs (a negative start) and lasts at least
  until now;
- per machine the latest `risk_scores` row: `rul_low` hours after the score's time is the
  failure deadline, `horizon_hours` the window of `p_fail`; a score from before the machine
  came back from its last maintenance or repair is of a life that ended and is not loaded;
- a maintenance under way (its event started, its `ends_at` still ahead) stays in the plan
  as a task from now to its end, so the machine takes no work meanwhile and the planner
  still sees the risk being treated;
- the current plan's operations not yet started warm-start the solver, and those starting
  inside the frozen window stay put unless a disruption contradicts them (the model's
  `settle` lets them go with their frozen successors and counts them as moved).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from millwright.core.storage.risk import latest_risks
from scheduler.config import SchedulerConfig
from scheduler.plan import Result, SolveStatus, Tradeoff
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

UNIT_S = 60  # one model time unit is one minute
_P_FAIL_MAX = 0.999_999  # the model needs p_fail < 1; a certain failure is "almost certain"
_UNDER_WAY = "maintenance under way"
_SAVE_LOCK = 0x4D575343  # "MWSC": serialises marking a plan current


@dataclass(frozen=True)
class RiskRow:
    """The raw risk score behind a machine's constraints, kept for the plan's reasons."""

    machine: str
    ts: datetime
    model_version: str
    p_fail: float
    rul: float | None
    rul_low: float | None
    horizon_hours: float

    def as_json(self) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "scored_at": self.ts.isoformat(),
            "model_version": self.model_version,
            "p_fail": self.p_fail,
            "rul_hours": self.rul,
            "rul_low_hours": self.rul_low,
            "horizon_hours": self.horizon_hours,
        }


@dataclass(frozen=True)
class LoadedProblem:
    """A problem plus what is needed to turn its minutes and names back into rows."""

    problem: Problem
    plan_start: datetime
    machine_ids: dict[str, int]
    operation_ids: dict[tuple[str, int], int]
    risks: dict[str, RiskRow] = field(default_factory=dict)

    def at(self, minutes: int) -> datetime:
        """The timestamp of a model time."""
        return self.plan_start + timedelta(seconds=minutes * UNIT_S)


def minutes_between(start: datetime, ts: datetime) -> int:
    """Whole minutes from `start` to `ts`, rounded down (negative when `ts` is earlier)."""
    return math.floor((ts - start).total_seconds() / UNIT_S)


def duration_units(seconds: int) -> int:
    """A duration in model units, rounded up so work never shrinks."""
    return max(1, math.ceil(seconds / UNIT_S))


def load_problem(
    conn: psycopg.Connection[Any], config: SchedulerConfig, now: datetime
) -> LoadedProblem:
    """Build the problem to solve at `now` from the database (one consistent snapshot)."""
    plan_start = now.replace(second=0, microsecond=0)
    if plan_start < now:  # the next whole minute: nothing is planned in the past
        plan_start += timedelta(minutes=1)
    horizon = max(1, round(config.horizon_hours * 60 * 60 / UNIT_S))
    machines, machine_ids = _machines(conn, plan_start, horizon)
    names = {v: k for k, v in machine_ids.items()}
    jobs, operations, operation_ids, running = _jobs(conn, plan_start, names)
    offline = {m.name for m in machines if m.offline}
    risks = _answered_risks(conn, names, offline)
    previous = _previous(conn, plan_start, operations, operation_ids, jobs, running)
    under_way = tuple(
        task for task in _under_way(conn, names, plan_start) if task.machine not in offline
    )
    problem = Problem(
        machines=tuple(machines),
        jobs=tuple(jobs.values()),
        operations=tuple(operations),
        horizon=horizon,
        risks=tuple(_machine_risk(row, plan_start) for row in risks.values()),
        crew_size=config.crew_size,
        previous=(*running, *previous),
        frozen_until=config.frozen_minutes,
        weights=config.weights(),
        origin=plan_start,
        maintenance=under_way,
    )
    within = None
    if config.risk_maintenance_hours is not None:
        within = max(1, round(config.risk_maintenance_hours * 3600 / UNIT_S))
    problem = with_risk_maintenance(
        problem,
        duration=config.maintenance_duration,
        cost=config.maintenance_cost,
        within=within,
        p_fail=config.risk_maintenance_p_fail,
    )
    return LoadedProblem(problem, plan_start, machine_ids, operation_ids, risks)


def _machines(
    conn: psycopg.Connection[Any], plan_start: datetime, horizon: int
) -> tuple[list[Machine], dict[str, int]]:
    rows = conn.execute("SELECT id, name, status FROM machines ORDER BY name").fetchall()
    gaps: dict[int, list[tuple[int, int]]] = {}
    for machine_id, start_at, end_at in conn.execute(
        "SELECT machine_id, start_at, end_at FROM machine_downtime"
        " WHERE end_at > %s AND start_at < %s ORDER BY start_at",
        (plan_start, plan_start + timedelta(seconds=horizon * UNIT_S)),
    ):
        start = max(0, minutes_between(plan_start, start_at))
        end = min(horizon, math.ceil((end_at - plan_start).total_seconds() / UNIT_S))
        if end > start:
            gaps.setdefault(machine_id, []).append((start, end))
    machines = []
    for machine_id, name, status in rows:
        spans = _merge(gaps.get(machine_id, []))
        machines.append(Machine(name, tuple(spans), offline=status == "offline"))
    return machines, {name: machine_id for machine_id, name, _ in rows}


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping downtime spans as one, so the calendar constraint sees disjoint gaps."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _jobs(
    conn: psycopg.Connection[Any], plan_start: datetime, machine_names: dict[int, str]
) -> tuple[dict[str, Job], list[Operation], dict[tuple[str, int], int], list[PlannedOperation]]:
    rows = conn.execute(
        "SELECT j.id, j.external_id, j.release_at, j.due_at, j.weight, j.value,"
        " o.id, o.seq, o.status, o.machine_id, o.started_at, o.finished_at,"
        " coalesce(array_agg(oo.machine_id ORDER BY oo.machine_id)"
        "   FILTER (WHERE oo.machine_id IS NOT NULL), '{}'),"
        " coalesce(array_agg(oo.duration_s ORDER BY oo.machine_id)"
        "   FILTER (WHERE oo.machine_id IS NOT NULL), '{}')"
        " FROM jobs j JOIN operations o ON o.job_id = j.id"
        " LEFT JOIN operation_options oo ON oo.operation_id = o.id"
        " WHERE j.status IN ('pending', 'in_progress')"
        " GROUP BY j.id, o.id ORDER BY j.id, o.seq"
    ).fetchall()
    jobs: dict[str, Job] = {}
    operations: list[Operation] = []
    ids: dict[tuple[str, int], int] = {}
    running: list[PlannedOperation] = []
    last_finish: dict[str, datetime] = {}
    next_seq: dict[str, int] = {}
    for (_jid, name, release_at, due_at, weight, value, op_id, _seq, status, machine_id,
         started_at, finished_at, option_machines, durations) in rows:  # fmt: skip
        if name not in jobs:
            jobs[name] = Job(
                name,
                release=max(0, minutes_between(plan_start, release_at)),
                due=minutes_between(plan_start, due_at),
                weight=float(weight),
                value=float(value),
            )
        if status == "done" and finished_at is not None:
            last_finish[name] = max(finished_at, last_finish.get(name, finished_at))
        if status not in ("pending", "in_progress"):
            continue
        options = {
            machine_names[m]: duration_units(d)
            for m, d in zip(option_machines, durations, strict=True)
        }
        seq = next_seq.get(name, 0)
        next_seq[name] = seq + 1
        if status == "in_progress" and machine_id in machine_names and started_at is not None:
            machine = machine_names[machine_id]
            start = min(0, minutes_between(plan_start, started_at))
            length = max(options.get(machine, 1), 1 - start)  # still running: lasts past now
            options = {machine: length}
            running.append(PlannedOperation(name, seq, machine, start))
        if not options:
            continue  # an operation without an eligible machine cannot be planned
        operations.append(Operation(name, seq, options))
        ids[(name, seq)] = op_id
    for name, finished in last_finish.items():
        job = jobs[name]
        jobs[name] = replace(
            job, release=max(job.release, minutes_between(plan_start, finished) + 1)
        )
    operations = _contiguous(operations, ids)
    planned = {op.job for op in operations}
    jobs = {name: job for name, job in jobs.items() if name in planned}
    return jobs, operations, ids, running


def _contiguous(operations: list[Operation], ids: dict[tuple[str, int], int]) -> list[Operation]:
    """Drop operations after a gap (a step without eligible machine stops its job there)."""
    kept: list[Operation] = []
    expected: dict[str, int] = {}
    for op in operations:
        if op.seq == expected.get(op.job, 0):
            kept.append(op)
            expected[op.job] = op.seq + 1
        else:
            ids.pop(op.key, None)
    return kept


def risks_the_plan_answers(conn: psycopg.Connection[Any]) -> list[RiskRow]:
    """The latest risk of each machine that a plan solved now would answer, by machine name.

    A machine offline, or back from maintenance, repair or failure since its last score, has no
    risk to answer: the tiles say DOWN, and the old score describes a life that has ended. The
    demo's watch and ``bench demo`` read the same rule as the plan, so "at risk but not
    maintained" means what it says.
    """
    rows = conn.execute("SELECT id, name, status FROM machines").fetchall()
    names = {machine_id: name for machine_id, name, _ in rows}
    offline = {name for _, name, status in rows if status == "offline"}
    return sorted(_answered_risks(conn, names, offline).values(), key=lambda r: r.machine)


def _answered_risks(
    conn: psycopg.Connection[Any], machine_names: dict[int, str], offline: set[str]
) -> dict[str, RiskRow]:
    renewed = _renewed(conn, machine_names)
    return {
        name: row
        for name, row in _risks(conn, machine_names).items()
        if name not in offline and not (name in renewed and row.ts < renewed[name])
    }


def _risks(conn: psycopg.Connection[Any], machine_names: dict[int, str]) -> dict[str, RiskRow]:
    return {
        machine_names[r.machine_id]: RiskRow(
            machine_names[r.machine_id],
            r.ts,
            r.model_version,
            r.p_fail,
            r.rul,
            r.rul_low,
            r.horizon_hours,
        )
        for r in latest_risks(conn, list(machine_names))
    }


def _renewed(conn: psycopg.Connection[Any], machine_names: dict[int, str]) -> dict[str, datetime]:
    """When each machine is back from its last maintenance or repair (its end, or its start
    while the end is unknown): a risk scored before that describes a life that has ended, or
    a machine being worked on, so it drives no second maintenance until the machine is
    scored again."""
    rows = conn.execute(
        "SELECT machine_id, max(coalesce(ends_at, ts)) FROM events"
        " WHERE kind IN ('maintenance', 'repair', 'failure') GROUP BY machine_id"
    ).fetchall()
    return {machine_names[m]: ts for m, ts in rows if m in machine_names}


def _under_way(
    conn: psycopg.Connection[Any], machine_names: dict[int, str], plan_start: datetime
) -> list[MaintenanceTask]:
    """Each maintenance started before ``plan_start`` and ending after it: a task from now to
    its end (due then), which the risk that asked for it no longer adds (that risk is of the
    life the maintenance ends)."""
    rows = conn.execute(
        "SELECT DISTINCT ON (machine_id) machine_id, ts, ends_at FROM events"
        " WHERE kind = 'maintenance' AND ts <= %s AND ends_at > %s"
        " ORDER BY machine_id, ends_at DESC",
        (plan_start, plan_start),
    ).fetchall()
    tasks = []
    for machine_id, since, ends_at in rows:
        if machine_id not in machine_names:
            continue
        left = duration_units(math.ceil((ends_at - plan_start).total_seconds()))
        tasks.append(
            MaintenanceTask(
                name=f"maint-{machine_names[machine_id]}",
                machine=machine_names[machine_id],
                duration=left,
                deadline=left,
                cause=f"{_UNDER_WAY} since {since.isoformat()}",
            )
        )
    return tasks


def _machine_risk(row: RiskRow, plan_start: datetime) -> MachineRisk:
    rul_low = None
    if row.rul_low is not None:
        failure_at = row.ts + timedelta(hours=row.rul_low)
        rul_low = max(0, minutes_between(plan_start, failure_at))
    window = max(1, round(row.horizon_hours * 3600 / UNIT_S))
    return MachineRisk(row.machine, min(row.p_fail, _P_FAIL_MAX), rul_low, window=window)


def _previous(
    conn: psycopg.Connection[Any],
    plan_start: datetime,
    operations: list[Operation],
    ids: dict[tuple[str, int], int],
    jobs: dict[str, Job],
    running: list[PlannedOperation],
) -> list[PlannedOperation]:
    """The current plan's placements on machines still eligible: the warm start, the frozen
    window and the reference the replan's stability term and `moved_operations` count from.

    Placements a disruption contradicts (before the job's release or its predecessor, over
    new downtime, on an offline machine, overlapping other frozen work) are kept here on
    purpose: the model's `settle` lets them go and reports them as moved.
    """
    by_id = {op_id: key for key, op_id in ids.items()}
    ops = {op.key: op for op in operations}
    rows = conn.execute(
        "SELECT a.operation_id, m.name, a.start_at FROM schedule_assignments a"
        " JOIN schedules s ON s.id = a.schedule_id AND s.is_current"
        " JOIN machines m ON m.id = a.machine_id"
        " JOIN operations o ON o.id = a.operation_id AND o.status = 'pending'"
        " WHERE a.kind = 'operation' ORDER BY a.start_at"
    ).fetchall()
    starts = {
        by_id[op_id]: (machine, minutes_between(plan_start, start_at))
        for op_id, machine, start_at in rows
        if op_id in by_id
    }
    is_running = {p.key for p in running}
    kept: list[PlannedOperation] = []
    for key, (machine, start) in sorted(starts.items()):
        if key in is_running or key[0] not in jobs or machine not in ops[key].options:
            continue
        # due but not reported started yet: as soon as possible
        kept.append(PlannedOperation(key[0], key[1], machine, max(start, 0)))
    return kept


# --- saving -------------------------------------------------------------------------------


def save_plan(
    conn: psycopg.Connection[Any], schedule_id: int, loaded: LoadedProblem, result: Result
) -> bool:
    """Write the plan's assignments and mark the schedule done and current, atomically.

    A plan only replaces the current one when it was requested no earlier than it, so a slow
    old request finishing late cannot overwrite a newer plan. Returns whether it became current.
    """
    assert result.plan is not None
    plan = result.plan
    problem = loaded.problem
    rows: list[tuple[Any, ...]] = []
    for op in plan.operations:
        rows.append((
            schedule_id, "operation", loaded.operation_ids[(op.job, op.seq)],
            loaded.machine_ids[op.machine], loaded.at(op.start), loaded.at(op.end),
            Jsonb(_operation_reason(loaded, op.machine, op.job, op.seq, op.reason)),
        ))  # fmt: skip
    tasks = {t.name: t for t in problem.maintenance}
    for m in plan.maintenance:
        task = tasks[m.name]
        risk = loaded.risks.get(m.machine)
        reason = {
            "task": m.name,
            "text": m.cause,
            "deadline_at": None if task.deadline is None else loaded.at(task.deadline).isoformat(),
            "risk": risk.as_json() if risk else None,
            "under_way": task.cause is not None and task.cause.startswith(_UNDER_WAY),
        }
        rows.append((
            schedule_id, "maintenance", None, loaded.machine_ids[m.machine],
            loaded.at(m.start), loaded.at(m.end), Jsonb(reason),
        ))  # fmt: skip
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO schedule_assignments"
            " (schedule_id, kind, operation_id, machine_id, start_at, end_at, reason)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SAVE_LOCK,))
    newer = conn.execute(
        "SELECT 1 FROM schedules c, schedules s WHERE c.is_current AND s.id = %s"
        " AND c.requested_at > s.requested_at",
        (schedule_id,),
    ).fetchone()
    current = newer is None
    if current:
        conn.execute("UPDATE schedules SET is_current = false WHERE is_current")
    conn.execute(
        "UPDATE schedules SET state = 'done', solver_status = %s, objective = %s, bound = %s,"
        " runtime_s = %s, plan_start = %s, is_current = %s, summary = %s, finished_at = now()"
        " WHERE id = %s",
        (
            result.status.value, result.objective, result.bound, result.runtime,
            loaded.plan_start, current, Jsonb(plan_summary(loaded, result)), schedule_id,
        ),
    )  # fmt: skip
    return current


def _operation_reason(
    loaded: LoadedProblem, machine: str, job: str, seq: int, text: str | None
) -> dict[str, Any]:
    """The words the model gave plus the risk rows of the machines it weighed."""
    if text is None:
        return {}
    op = loaded.problem.operation((job, seq))
    risks = [loaded.risks[m].as_json() for m in sorted(op.options) if m in loaded.risks]
    return {"text": text, "risks": risks}


def plan_summary(loaded: LoadedProblem, result: Result) -> dict[str, Any]:
    """What a person or the MES reads about a solve besides the assignments."""
    summary: dict[str, Any] = {
        "plan_start": loaded.plan_start.isoformat(),
        "horizon_end": loaded.at(loaded.problem.horizon).isoformat(),
        "frozen_until": loaded.at(loaded.problem.frozen_until).isoformat(),
        "explanations": list(result.explanations),
        "status": result.status.value,
        "degraded": result.status is SolveStatus.DISPATCH,
        "reason": result.reason,
        "unplaced": [{"subject": u.subject, "reason": u.reason} for u in result.unplaced],
        "released": list(result.released),
        "moved_operations": result.moved_operations,
        "affected_operations": result.affected_operations,
        "resequenced_operations": result.resequenced_operations,
        "shifted_operations": result.shifted_operations,
        "tradeoff": None if result.tradeoff is None else _tradeoff(result.tradeoff),
        "phases": result.phases,
        "counts": {
            "jobs": len(loaded.problem.jobs),
            "operations": len(loaded.problem.operations),
            "maintenance": len(loaded.problem.maintenance),
        },
    }
    if result.plan is not None:
        jobs = {j.name: j for j in loaded.problem.jobs}
        summary["jobs"] = [
            {
                "job": o.job,
                "completion_at": loaded.at(o.completion).isoformat(),
                "lateness_minutes": o.lateness if jobs[o.job].due is not None else 0,
            }
            for o in result.plan.jobs
        ]
        summary["violations"] = [
            {"constraint": v.constraint, "subject": v.subject, "amount_minutes": v.amount,
             "message": v.message}
            for v in result.plan.violations
        ]  # fmt: skip
        summary["costs"] = dict(result.plan.costs)
    return summary


def _tradeoff(tradeoff: Tradeoff) -> dict[str, Any]:
    """The stable replan against re-dispatching, as the plan summary shows it."""
    return {
        "stable_production": round(tradeoff.stable, 1),
        "stable_resequenced": tradeoff.stable_resequenced,
        "redispatch_production": round(tradeoff.redispatch, 1),
        "loss": None if tradeoff.loss is None else round(tradeoff.loss, 4),
        "max_loss": tradeoff.max_loss,
        "chosen": tradeoff.chosen,
    }
