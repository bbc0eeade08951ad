"""Asking the scheduler for a replan from any stage: one row in ``schedules``.

The scheduler worker claims ``requested`` rows; a request still waiting (same time limit) is
reused, so a burst of failures or downtimes reported by a shop-floor system costs one solve.
Stages upstream of the scheduler (ingest's MQTT events) queue their replans here; the
scheduler's own ``request_schedule`` is this function, so the two never insert twice for
one wait.
"""

from __future__ import annotations

from millwright.core.storage.database import Database

REQUEST_LOCK = 0x4D575251  # "MWRQ"


def queue_replan(
    database: Database, requested_by: str | None, time_limit_s: float | None = None
) -> int:
    """The id of the waiting schedule request with this time limit (new, or already waiting)."""
    with database.connection() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (REQUEST_LOCK,))
        row = conn.execute(
            "SELECT id FROM schedules WHERE state = 'requested'"
            " AND time_limit_s IS NOT DISTINCT FROM %s ORDER BY requested_at DESC LIMIT 1",
            (time_limit_s,),
        ).fetchone()
        if row is None:
            row = conn.execute(
                "INSERT INTO schedules (requested_by, time_limit_s) VALUES (%s, %s) RETURNING id",
                (requested_by, time_limit_s),
            ).fetchone()
        assert row is not None
        return int(row[0])
