"""A small seeded plant for the dashboard tests: 2 lines, 6 machines, readings, risk, events,
a current schedule with a risk-driven maintenance task and a late job, and open alerts.

Everything is relative to one ``now`` so expected values are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from psycopg.types.json import Jsonb

from millwright.core.storage import ReadingsWriter
from millwright.core.storage.database import Database
from millwright.core.users import UserStore

PASSWORD = "correct-horse-42"
MACHINES = (
    # name, line, class, status
    ("press-01", "Line A", "hydraulic press", "running"),
    ("press-02", "Line A", "hydraulic press", "running"),
    ("lathe-03", "Line A", "CNC lathe", "down"),
    ("mill-04", "Line B", "CNC mill", "maintenance"),
    ("mill-05", "Line B", "CNC mill", "running"),
    ("oven-06", "Line B", "curing oven", "offline"),
)
# name -> (p_fail, rul_low hours) of the latest score
LATEST_RISK = {
    "press-01": (0.85, 12.0),
    "press-02": (0.05, 400.0),
    "lathe-03": (0.10, 300.0),
    "mill-04": (0.02, 900.0),
    "mill-05": (0.45, 150.0),
    # oven-06: never scored
}
SENSORS = ("temperature", "vibration", "pressure")
BASELINE_MEAN = [50.0, 1.1, 70.0]  # per sensor, in SENSORS order
BASELINE_STD = [1.0, 0.3, 2.0]


@dataclass(frozen=True)
class Plant:
    now: datetime
    machine_ids: dict[str, int]
    schedule_id: int
    alert_ids: dict[str, int]


def seed_users(database: Database) -> None:
    store = UserStore(database)
    store.add("viewer", PASSWORD, roles=["viewer"])
    store.add("planner", PASSWORD, roles=["planner"])
    store.add("fixer", PASSWORD, roles=["maintenance"])


def seed_plant(database: Database, now: datetime | None = None) -> Plant:
    now = (now or datetime.now(UTC)).replace(second=0, microsecond=0)
    ids: dict[str, int] = {}
    for name, line, cls, status in MACHINES:
        rows = database.execute(
            "INSERT INTO machines (name, line, machine_class, status, status_since)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (name, line, cls, status, now - timedelta(hours=3)),
        )
        ids[name] = int(rows[0][0])
    _readings(database, now)
    _risk(database, ids, now)
    _events(database, ids, now)
    alert_ids = _alerts(database, ids, now)
    schedule_id = _schedule(database, ids, now)
    return Plant(now=now, machine_ids=ids, schedule_id=schedule_id, alert_ids=alert_ids)


def _readings(database: Database, now: datetime) -> None:
    """Two hours of one-minute data for every sensor of the first five machines (the oven
    has been silent for a day, so it shows as stale)."""
    frames = []
    minutes = pd.date_range(end=now, periods=120, freq="1min", tz="UTC")
    for m_index, (name, *_rest) in enumerate(MACHINES):
        ts = minutes if name != "oven-06" else minutes - pd.Timedelta(days=1)
        for s_index, sensor in enumerate(SENSORS):
            values = 50 + 10 * m_index + s_index + np.sin(np.arange(len(ts)) / 10)
            frames.append(
                pd.DataFrame({"machine": name, "sensor": sensor, "ts": ts, "value": values})
            )
    # A replayed plant may run days ahead of the wall clock (data clock): accept its future.
    writer = ReadingsWriter(database, max_future_s=365 * 86_400)
    writer.write(pd.concat(frames, ignore_index=True))
    database.execute("UPDATE sensors SET unit = '°C' WHERE name = 'temperature'")


def _risk(database: Database, ids: dict[str, int], now: datetime) -> None:
    rows = []
    for name, (p_fail, rul_low) in LATEST_RISK.items():
        for hours_ago in range(24, -1, -1):
            ts = now - timedelta(hours=hours_ago)
            version = "v1" if hours_ago >= 12 else "v2"
            p = p_fail * (1 - hours_ago / 48)
            rul = rul_low + hours_ago
            top = [
                {"feature": "vibration__std_1h", "contribution": 0.31, "value": 2.4},
                {"feature": "temperature__slope_6h", "contribution": 0.12, "value": 0.8},
                {"feature": "pressure__mean_1h", "contribution": -0.05, "value": 71.0},
            ]
            rows.append((ts, ids[name], version, 24.0, p, rul * 2, rul, Jsonb(top)))
    with database.connection() as conn, conn.cursor() as cur:
        # The machines' healthy baselines (what the top features are compared with).
        cur.execute(
            "INSERT INTO feature_versions (version, names, definition) VALUES ('f1', %s, %s)",
            (["vibration__std_1h"], Jsonb({"sensors": list(SENSORS)})),
        )
        for machine_id in ids.values():
            cur.execute(
                "INSERT INTO feature_baselines (machine_id, version, started_at, mean, std,"
                " count) VALUES (%s, 'f1', %s, %s, %s, %s)",
                (machine_id, now - timedelta(days=3), BASELINE_MEAN, BASELINE_STD, [60.0] * 3),
            )
        cur.executemany(
            "INSERT INTO risk_scores (ts, machine_id, model_version, horizon_hours, p_fail,"
            " rul, rul_low, top_features) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )


def _events(database: Database, ids: dict[str, int], now: datetime) -> None:
    database.execute(
        "INSERT INTO events (ts, machine_id, kind, ends_at, source, details) VALUES"
        " (%s, %s, 'failure', NULL, 'plc', '{\"code\": \"E42\"}'),"
        " (%s, %s, 'maintenance', %s, 'cmms', '{}'),"
        " (%s, %s, 'repair', NULL, 'cmms', '{}')",
        (
            now - timedelta(hours=1),
            ids["lathe-03"],
            now - timedelta(hours=5),
            ids["mill-04"],
            now - timedelta(hours=4),
            now - timedelta(minutes=30),
            ids["press-01"],
        ),
    )


def _alerts(database: Database, ids: dict[str, int], now: datetime) -> dict[str, int]:
    found = {}
    for name, rule, severity, state, opened, resolved in (
        ("press-01", "risk", "critical", "escalated", now - timedelta(hours=2), None),
        ("mill-05", "risk", "warning", "open", now - timedelta(hours=1), None),
        (
            "press-02",
            "risk",
            "warning",
            "resolved",
            now - timedelta(hours=9),
            now - timedelta(hours=8),
        ),
    ):
        rows = database.execute(
            "INSERT INTO alerts (machine_id, rule, severity, state, opened_at, resolved_at,"
            " p_fail, rul_low) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (ids[name], rule, severity, state, opened, resolved, *LATEST_RISK[name]),
        )
        found[name] = int(rows[0][0])
    return found


def _schedule(database: Database, ids: dict[str, int], now: datetime) -> int:
    """J-100 on time (press-02 then mill-05); J-101 on press-01 after its maintenance, due
    before it can finish, hence late by 60 minutes."""
    h = timedelta(hours=1)
    with database.connection() as conn:
        jobs = {}
        for ext, due, weight in (("J-100", now + 10 * h, 1.0), ("J-101", now + 3 * h, 2.0)):
            jobs[ext] = conn.execute(
                "INSERT INTO jobs (external_id, release_at, due_at, weight) VALUES"
                " (%s, %s, %s, %s) RETURNING id",
                (ext, now - h, due, weight),
            ).fetchone()[0]  # type: ignore[index]
        ops = {}
        for job, seq, name in (("J-100", 0, "press"), ("J-100", 1, "mill"), ("J-101", 0, "press")):
            ops[(job, seq)] = conn.execute(
                "INSERT INTO operations (job_id, seq, name) VALUES (%s, %s, %s) RETURNING id",
                (jobs[job], seq, name),
            ).fetchone()[0]  # type: ignore[index]
        schedule_id = conn.execute(
            "INSERT INTO schedules (requested_at, requested_by, state, solver_status, objective,"
            " plan_start, is_current, finished_at) VALUES"
            " (%s, 'planner', 'done', 'OPTIMAL', 1234, %s, true, %s) RETURNING id",
            (now - 0.5 * h, now, now - 0.4 * h),
        ).fetchone()[0]  # type: ignore[index]
        risk = {
            "machine": "press-01",
            "scored_at": now.isoformat(),
            "model_version": "v2",
            "p_fail": 0.85,
            "rul_hours": 24.0,
            "rul_low_hours": 12.0,
            "horizon_hours": 24.0,
        }
        maintenance_reason = {
            "task": "risk-press-01",
            "text": "rul_low 12 h on press-01 falls inside the horizon",
            "deadline_at": (now + 12 * h).isoformat(),
            "risk": risk,
        }
        rows = [
            ("operation", ops[("J-100", 0)], ids["press-02"], now, now + 2 * h, {}),
            ("operation", ops[("J-100", 1)], ids["mill-05"], now + 2 * h, now + 4 * h, {}),
            ("maintenance", None, ids["press-01"], now, now + 2 * h, maintenance_reason),
            (
                "operation",
                ops[("J-101", 0)],
                ids["press-01"],
                now + 2 * h,
                now + 4 * h,
                {"text": "waits for maintenance on press-01", "risks": [risk]},
            ),
        ]
        for kind, op, machine, start, end, reason in rows:
            conn.execute(
                "INSERT INTO schedule_assignments (schedule_id, kind, operation_id, machine_id,"
                " start_at, end_at, reason) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (schedule_id, kind, op, machine, start, end, Jsonb(reason)),
            )
    return int(schedule_id)


def write_week_of_minutes(
    database: Database, machine: str, sensors: int, now: datetime, days: int = 7
) -> int:
    """``days`` of one-minute readings for ``sensors`` sensors (the load-time benchmark)."""
    ts = pd.date_range(end=now, periods=days * 1440, freq="1min", tz="UTC")
    writer = ReadingsWriter(database)
    total = 0
    rng = np.random.default_rng(7)
    for index in range(sensors):
        frame = pd.DataFrame(
            {
                "machine": machine,
                "sensor": f"s{index:02d}",
                "ts": ts,
                "value": 100 + index + np.cumsum(rng.normal(0, 0.05, len(ts))),
            }
        )
        total += writer.write(frame).inserted
    return total
