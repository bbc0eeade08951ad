"""What an alert means for production, read from the current plan with plain queries.

- The recommended maintenance window: the first maintenance assignment of the current
  schedule on the machine that has not ended yet.
- The orders that would be late if the machine failed now: every unfinished job with work
  planned on the machine; if the machine stopped now, that work (and so the job's planned
  finish) moves back by the repair time (``assumed_repair_hours``). A job is listed when its
  planned finish plus that delay passes its due date. It is a deliberately simple, explainable
  estimate; the scheduler gives the real answer when it replans.

Functions take an open connection so they run in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

from alerts.payload import LateOrder, MaintenanceWindow

_WINDOW_SQL = """
SELECT a.start_at, a.end_at, a.schedule_id, a.reason
FROM schedule_assignments a
JOIN schedules s ON s.id = a.schedule_id AND s.is_current
WHERE a.machine_id = %(machine_id)s AND a.kind = 'maintenance' AND a.end_at > %(now)s
ORDER BY a.start_at
LIMIT 1
"""

_LATE_ORDERS_SQL = """
WITH current_plan AS (SELECT id FROM schedules WHERE is_current),
affected AS (
    SELECT DISTINCT o.job_id
    FROM schedule_assignments a
    JOIN current_plan p ON p.id = a.schedule_id
    JOIN operations o ON o.id = a.operation_id
    WHERE a.kind = 'operation' AND a.machine_id = %(machine_id)s AND a.end_at > %(now)s
      AND o.status NOT IN ('done', 'cancelled')
)
SELECT j.external_id, j.due_at, j.weight, max(a.end_at) AS planned_finish
FROM affected f
JOIN jobs j ON j.id = f.job_id
JOIN operations o ON o.job_id = j.id
JOIN schedule_assignments a ON a.operation_id = o.id
JOIN current_plan p ON p.id = a.schedule_id
WHERE j.status NOT IN ('done', 'cancelled')
GROUP BY j.id, j.external_id, j.due_at, j.weight
HAVING max(a.end_at) + %(repair)s > j.due_at
ORDER BY j.due_at, j.external_id
"""


def maintenance_window(
    conn: psycopg.Connection[Any], machine_id: int, now: datetime
) -> MaintenanceWindow | None:
    """The current plan's next maintenance on the machine, if it plans one."""
    row = conn.execute(_WINDOW_SQL, {"machine_id": machine_id, "now": now}).fetchone()
    if row is None:
        return None
    return MaintenanceWindow(start_at=row[0], end_at=row[1], schedule_id=row[2], reason=row[3])


def late_orders_if_failed(
    conn: psycopg.Connection[Any], machine_id: int, now: datetime, repair: timedelta
) -> list[LateOrder]:
    """Orders whose planned finish, delayed by ``repair``, would pass their due date."""
    rows = conn.execute(
        _LATE_ORDERS_SQL, {"machine_id": machine_id, "now": now, "repair": repair}
    ).fetchall()
    orders = []
    for external_id, due_at, weight, planned_finish in rows:
        projected = max(planned_finish, now) + repair
        orders.append(
            LateOrder(
                external_id=external_id,
                due_at=due_at,
                planned_finish=planned_finish,
                projected_finish=projected,
                lateness_hours=round((projected - due_at).total_seconds() / 3600, 3),
                weight=weight,
            )
        )
    return orders
