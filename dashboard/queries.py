"""What the dashboard reads: named, parameterised SQL returning DataFrames.

Read-only on purpose: changes (acknowledging an alert, requesting a schedule) go through the
packages that own those tables (`alerts.service`, `scheduler.service`). Every query runs with
the session time zone set to UTC so timestamps come back tz-aware in UTC whatever the server's
default is. Heavy lifting (latest row per machine, downsampling) happens in the database,
where the `(machine_id, sensor_id, ts)` and `(machine_id, ts DESC)` indexes make it cheap.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from dashboard.downsample import hourly_view_applies
from millwright.core.storage.database import Database
from models import latest_risks

BUCKET_ORIGIN = "2000-01-01 00:00:00+00"  # same origin as the readings_1h view


def _frame(database: Database, sql: str, params: Any = None) -> pd.DataFrame:
    with database.connection() as conn, conn.cursor() as cur:
        cur.execute("SET LOCAL TIME ZONE 'UTC'")
        cur.execute(sql, params)
        columns = [d.name for d in cur.description or []]
        rows = cur.fetchall()
    return pd.DataFrame(rows, columns=columns)


def _one(database: Database, sql: str, params: Any = None) -> dict[str, Any] | None:
    frame = _frame(database, sql, params)
    if frame.empty:
        return None
    return {str(k): _plain(v) for k, v in frame.iloc[0].items()}


def _plain(value: Any) -> Any:
    """pandas' NaN/NaT for SQL NULL back to None, so callers test ``is None``."""
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # lists and dicts are never "NA"
        pass
    return value


# --- plant overview -----------------------------------------------------------------------

_OVERVIEW = """
SELECT m.id, m.name, COALESCE(m.line, '') AS line, m.machine_class, m.status, m.status_since,
       r.ts AS risk_ts, r.model_version, r.p_fail, r.rul, r.rul_low,
       COALESCE(a.open_alerts, 0) AS open_alerts,
       COALESCE(a.critical_alerts, 0) AS critical_alerts,
       COALESCE(a.unacked_alerts, 0) AS unacked_alerts,
       d.last_reading_at
FROM machines m
LEFT JOIN LATERAL (
    SELECT ts, model_version, p_fail, rul, rul_low FROM risk_scores
    WHERE machine_id = m.id ORDER BY ts DESC LIMIT 1
) r ON true
LEFT JOIN LATERAL (
    SELECT count(*) AS open_alerts,
           count(*) FILTER (WHERE severity = 'critical') AS critical_alerts,
           count(*) FILTER (WHERE acked_at IS NULL) AS unacked_alerts
    FROM alerts WHERE machine_id = m.id AND state <> 'resolved'
) a ON true
LEFT JOIN LATERAL (
    SELECT max(l.ts) AS last_reading_at
    FROM sensors s
    CROSS JOIN LATERAL (
        SELECT ts FROM readings
        WHERE machine_id = m.id AND sensor_id = s.id ORDER BY ts DESC LIMIT 1
    ) l
    WHERE s.machine_id = m.id
) d ON true
ORDER BY line, m.name
"""


def plant_overview(database: Database) -> pd.DataFrame:
    """One row per machine: status, latest risk, open alerts and when data last arrived.

    The newest reading is found per sensor through the unique index (a backwards index scan
    per sensor), never by scanning a machine's history.
    """
    return _frame(database, _OVERVIEW)


# --- one machine --------------------------------------------------------------------------


def machine_by_name(database: Database, name: str) -> dict[str, Any] | None:
    return _one(
        database,
        "SELECT id, name, COALESCE(line, '') AS line, machine_class, status, status_since"
        " FROM machines WHERE name = %s",
        (name,),
    )


def machine_sensors(database: Database, machine_id: int) -> pd.DataFrame:
    return _frame(
        database,
        "SELECT id, name, COALESCE(unit, '') AS unit FROM sensors WHERE machine_id = %s"
        " ORDER BY name",
        (machine_id,),
    )


# Aggregate by sensor id first and name the sensors afterwards: the grouping then works on
# two narrow columns, and stays a hash aggregate even before statistics on fresh data exist.
_TRENDS_RAW = """
SELECT s.name AS sensor, COALESCE(s.unit, '') AS unit, a.bucket, a.avg, a.min, a.max, a.n
FROM (
    SELECT r.sensor_id, date_bin(%(bucket)s, r.ts, %(origin)s::timestamptz) AS bucket,
           avg(r.value) AS avg, min(r.value) AS min, max(r.value) AS max, count(*) AS n
    FROM readings r
    WHERE r.machine_id = %(machine)s AND r.sensor_id = ANY(%(sensors)s)
      AND r.ts >= %(start)s AND r.ts < %(end)s
    GROUP BY 1, 2
) a JOIN sensors s ON s.id = a.sensor_id
ORDER BY s.name, a.bucket
"""

# Re-aggregates the hourly view to wider buckets; the average is weighted by sample count.
# Whole hours come from the view (real-time on TimescaleDB, computed on plain PostgreSQL);
# the partial hours at either end of the range come from the raw table, so the result is
# the raw query's exactly, whatever the range's alignment.
_TRENDS_HOURLY = """
SELECT s.name AS sensor, COALESCE(s.unit, '') AS unit, a.bucket, a.avg, a.min, a.max, a.n
FROM (
    SELECT p.sensor_id, date_bin(%(bucket)s, p.ts, %(origin)s::timestamptz) AS bucket,
           sum(p.total) / NULLIF(sum(p.n), 0) AS avg, min(p.min) AS min,
           max(p.max) AS max, sum(p.n)::bigint AS n
    FROM (
        SELECT h.sensor_id, h.bucket AS ts, h.avg * h.n AS total, h.min, h.max, h.n
        FROM readings_1h h
        WHERE h.machine_id = %(machine)s AND h.sensor_id = ANY(%(sensors)s)
          AND h.bucket >= %(hour_start)s AND h.bucket < %(hour_end)s
        UNION ALL
        SELECT r.sensor_id, r.ts, r.value, r.value, r.value, 1
        FROM readings r
        WHERE r.machine_id = %(machine)s AND r.sensor_id = ANY(%(sensors)s)
          AND ((r.ts >= %(start)s AND r.ts < %(hour_start)s)
               OR (r.ts >= %(hour_end)s AND r.ts < %(end)s))
    ) p
    GROUP BY 1, 2
) a JOIN sensors s ON s.id = a.sensor_id
ORDER BY s.name, a.bucket
"""


def _whole_hours(start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
    """The whole hours inside ``[start, end)``, or None when there is none."""
    floor_start = start.replace(minute=0, second=0, microsecond=0)
    hour_start = floor_start if floor_start == start else floor_start + timedelta(hours=1)
    hour_end = end.replace(minute=0, second=0, microsecond=0)
    return (hour_start, hour_end) if hour_start < hour_end else None


def sensor_trends(
    database: Database,
    machine_id: int,
    sensor_ids: list[int],
    start: datetime,
    end: datetime,
    bucket: timedelta,
    *,
    use_hourly_view: bool = False,
) -> pd.DataFrame:
    """Per sensor and bucket: average, min and max of the readings in ``[start, end)``.

    ``use_hourly_view`` reads the `readings_1h` continuous aggregate when TimescaleDB keeps
    one and the bucket is whole hours; on plain PostgreSQL that view is computed on the fly
    over all history, so the raw table with its time predicate is faster there.
    """
    if not sensor_ids:
        return pd.DataFrame(columns=["sensor", "unit", "bucket", "avg", "min", "max", "n"])
    hours = _whole_hours(start, end)
    use_view = use_hourly_view and hourly_view_applies(bucket) and hours is not None
    sql = _TRENDS_HOURLY if use_view else _TRENDS_RAW
    params: dict[str, Any] = {
        "bucket": bucket,
        "origin": BUCKET_ORIGIN,
        "machine": machine_id,
        "sensors": list(sensor_ids),
        "start": start,
        "end": end,
    }
    if hours is not None:
        params["hour_start"], params["hour_end"] = hours
    return _frame(database, sql, params)


def risk_history(
    database: Database, machine_id: int, start: datetime, end: datetime
) -> pd.DataFrame:
    """Risk scores of a machine in ``[start, end)``, oldest first, with the model version."""
    return _frame(
        database,
        "SELECT ts, model_version, p_fail, rul, rul_low FROM risk_scores"
        " WHERE machine_id = %s AND ts >= %s AND ts < %s ORDER BY ts",
        (machine_id, start, end),
    )


def latest_risk(database: Database, machine_id: int) -> dict[str, Any] | None:
    """The newest risk score with its top contributing features (raw jsonb)."""
    with database.connection() as conn:
        found = latest_risks(conn, [machine_id])
    if not found:
        return None
    risk = found[0]
    return {
        "ts": risk.ts,
        "model_version": risk.model_version,
        "horizon_hours": risk.horizon_hours,
        "p_fail": risk.p_fail,
        "rul": risk.rul,
        "rul_low": risk.rul_low,
        "top_features": risk.top_features,
    }


def machine_events(
    database: Database, machine_id: int, start: datetime, end: datetime
) -> pd.DataFrame:
    """Events and alert openings of a machine in the range, as one time-ordered list.

    Alerts appear as kind ``alert`` so the time axis shows when an episode began next to the
    failures and maintenance that explain it.
    """
    return _frame(
        database,
        """
        SELECT ts, ends_at, kind, source, details::text AS detail FROM events
        WHERE machine_id = %(m)s AND ts < %(end)s AND COALESCE(ends_at, ts) >= %(start)s
        UNION ALL
        SELECT opened_at, resolved_at, 'alert', rule, severity || ' · ' || state FROM alerts
        WHERE machine_id = %(m)s AND opened_at < %(end)s
          AND COALESCE(resolved_at, %(end)s) >= %(start)s
        ORDER BY 1
        """,
        {"m": machine_id, "start": start, "end": end},
    )


# --- schedule -----------------------------------------------------------------------------


def current_schedule(database: Database) -> dict[str, Any] | None:
    """The plan marked current, or None when nothing has been solved yet."""
    return _one(
        database,
        "SELECT id, state, solver_status, objective, requested_at, requested_by, finished_at,"
        " plan_start, summary, error FROM schedules WHERE is_current",
    )


def latest_finished(database: Database) -> dict[str, Any] | None:
    """The newest finished solve, current or not (a failed one leaves the old plan current)."""
    return _one(
        database,
        "SELECT id, state, solver_status, finished_at, error, summary FROM schedules"
        " WHERE finished_at IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT 1",
    )


def previous_plan_id(database: Database, current_id: int) -> int | None:
    """The plan before the current one (the newest other plan that has assignments)."""
    rows = database.execute(
        "SELECT s.id FROM schedules s WHERE s.id <> %s AND s.state = 'done'"
        " AND EXISTS (SELECT 1 FROM schedule_assignments a WHERE a.schedule_id = s.id)"
        " AND s.finished_at <= (SELECT finished_at FROM schedules WHERE id = %s)"
        " ORDER BY s.finished_at DESC, s.id DESC LIMIT 1",
        (current_id, current_id),
    )
    return int(rows[0][0]) if rows else None


def gantt_machines(database: Database) -> pd.DataFrame:
    """Every machine (a Gantt row each, plan or not), by line, with its status."""
    return _frame(
        database,
        "SELECT id, name, COALESCE(line, '') AS line, status, status_since FROM machines"
        " ORDER BY COALESCE(line, '') = '', line, name",
    )


def downtime_windows(database: Database, start: datetime, end: datetime) -> pd.DataFrame:
    """Closed spans (planned downtime, shift gaps) overlapping ``[start, end)``."""
    return _frame(
        database,
        "SELECT m.name AS machine, d.start_at, d.end_at, d.reason FROM machine_downtime d"
        " JOIN machines m ON m.id = d.machine_id WHERE d.start_at < %s AND d.end_at > %s"
        " ORDER BY d.start_at",
        (end, start),
    )


def job_detail(database: Database, schedule_id: int, external_id: str) -> pd.DataFrame:
    """One order's steps in a plan: machine, times, due date, and the plan's reason."""
    return _frame(
        database,
        "SELECT j.external_id AS job, j.due_at, j.release_at, j.weight, j.status AS job_status,"
        " o.seq, o.name AS operation, o.status, m.name AS machine, sa.start_at, sa.end_at,"
        " sa.reason FROM jobs j JOIN operations o ON o.job_id = j.id"
        " LEFT JOIN schedule_assignments sa ON sa.operation_id = o.id AND sa.schedule_id = %s"
        " LEFT JOIN machines m ON m.id = sa.machine_id"
        " WHERE j.external_id = %s ORDER BY o.seq",
        (schedule_id, external_id),
    )


def pending_request(database: Database) -> dict[str, Any] | None:
    """The newest schedule request still waiting or solving (shown next to the button)."""
    return _one(
        database,
        "SELECT id, state, requested_at, requested_by FROM schedules"
        " WHERE state IN ('requested', 'solving') ORDER BY requested_at DESC LIMIT 1",
    )


_ASSIGNMENTS = """
SELECT sa.id, sa.kind, sa.operation_id, m.name AS machine, COALESCE(m.line, '') AS line,
       sa.start_at, sa.end_at, j.external_id AS job, j.due_at, j.weight,
       o.seq, o.name AS operation, sa.reason,
       max(sa.end_at) FILTER (WHERE sa.kind = 'operation')
           OVER (PARTITION BY o.job_id) AS job_end
FROM schedule_assignments sa
JOIN machines m ON m.id = sa.machine_id
LEFT JOIN operations o ON o.id = sa.operation_id
LEFT JOIN jobs j ON j.id = o.job_id
WHERE sa.schedule_id = %s
ORDER BY line, machine, sa.start_at
"""


def schedule_assignments(database: Database, schedule_id: int) -> pd.DataFrame:
    """The plan's bars: operations (with job, due date and the job's planned end) and
    maintenance (with the risk that drove it in ``reason``). ``late`` is derived here."""
    frame = _frame(database, _ASSIGNMENTS, (schedule_id,))
    if frame.empty:
        frame["late"] = pd.Series(dtype=bool)
        frame["lateness_min"] = pd.Series(dtype=float)
        return frame
    job_end = pd.to_datetime(frame["job_end"], utc=True)
    due = pd.to_datetime(frame["due_at"], utc=True)
    lateness = (job_end - due).dt.total_seconds() / 60.0
    frame["lateness_min"] = lateness.where(lateness > 0, 0.0).fillna(0.0)
    frame["late"] = (frame["kind"] == "operation") & (frame["lateness_min"] > 0)
    return frame


# --- alerts -------------------------------------------------------------------------------


def open_alerts(database: Database) -> pd.DataFrame:
    """Episodes not yet resolved: critical first, then newest first."""
    return _frame(
        database,
        "SELECT a.id, m.name AS machine, COALESCE(m.line, '') AS line, a.rule, a.severity,"
        " a.state, a.opened_at, a.escalated_at, a.acked_at, a.acked_by, a.p_fail, a.rul_low"
        " FROM alerts a JOIN machines m ON m.id = a.machine_id WHERE a.state <> 'resolved'"
        " ORDER BY (a.severity = 'critical') DESC, a.opened_at DESC, a.id DESC",
    )


def last_reading_at(database: Database, machine_id: int) -> datetime | None:
    """When the newest reading of any of the machine's sensors was taken."""
    rows = database.execute(
        "SELECT max(l.ts) FROM sensors s CROSS JOIN LATERAL ("
        " SELECT ts FROM readings WHERE machine_id = s.machine_id AND sensor_id = s.id"
        " ORDER BY ts DESC LIMIT 1) l WHERE s.machine_id = %s",
        (machine_id,),
    )
    return rows[0][0] if rows else None


def machine_classes(database: Database) -> dict[str, str | None]:
    """Machine name → class (for the alert rules that apply to each)."""
    return {str(n): c for n, c in database.execute("SELECT name, machine_class FROM machines")}


def machine_names(database: Database) -> list[str]:
    return [str(r[0]) for r in database.execute("SELECT name FROM machines ORDER BY name")]


def latest_horizons(database: Database) -> dict[str, float | None]:
    """Each machine's horizon of its newest risk score (what "failure risk" is about)."""
    rows = database.execute(
        "SELECT m.name, r.horizon_hours FROM machines m CROSS JOIN LATERAL ("
        " SELECT horizon_hours FROM risk_scores WHERE machine_id = m.id"
        " ORDER BY ts DESC LIMIT 1) r"
    )
    return {str(n): h for n, h in rows}


def sensor_baselines(database: Database, machine_id: int) -> dict[str, tuple[float, float]]:
    """The machine's healthy baseline per sensor (mean, std) since its latest reset."""
    rows = database.execute(
        "SELECT v.definition->'sensors', b.mean, b.std FROM feature_baselines b"
        " JOIN feature_versions v ON v.version = b.version WHERE b.machine_id = %s"
        " ORDER BY b.started_at DESC, b.computed_at DESC LIMIT 1",
        (machine_id,),
    )
    if not rows or not isinstance(rows[0][0], list):
        return {}
    sensors, means, stds = rows[0]
    return {
        str(s): (float(m), float(d))
        for s, m, d in zip(sensors, means or [], stds or [], strict=False)
        if m is not None and d is not None
    }


def status_cause(database: Database, machine_id: int, since: datetime) -> dict[str, Any] | None:
    """The event that explains a machine's current status: the newest failure, maintenance
    or offline event at or after its status changed (or just before)."""
    return _one(
        database,
        "SELECT ts, kind, source, details FROM events WHERE machine_id = %s"
        " AND kind IN ('failure', 'maintenance', 'offline', 'error')"
        " AND ts >= %s - interval '10 minutes' ORDER BY ts DESC LIMIT 1",
        (machine_id, since),
    )
