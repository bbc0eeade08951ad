"""Reads what happened from the database: the edge between the tables and the pure figures.

- stops: ``failure`` events until their repair ends (the event's ``ends_at`` or the matching
  ``repair`` event's), ``maintenance`` events until their ``ends_at``; a maintenance whose
  ``details`` carry a ``finding`` or ``note`` saying "found wear" confirms the alarm before it;
- alerts: every alert episode, by its ``opened_at``;
- planned maintenance: the maintenance assignments of every solved plan, with when the plan
  was made;
- orders: jobs, finished when their last operation finished;
- scrap: an operation under way on a machine when it failed (started before the failure, not
  finished by it, as the MES reported) lost its part to the first failure after its start —
  the rule ``eval plant`` books too.
"""

from __future__ import annotations

from datetime import datetime

from millwright.core.storage.database import Database
from outcomes.records import (
    AlertRecord,
    History,
    OrderRecord,
    PlannedTask,
    ScrapRecord,
    Stop,
    StopKind,
)

_STOPS = """
SELECT m.name, m.line, e.kind, e.ts,
       coalesce(e.ends_at, (SELECT min(r.ends_at) FROM events r WHERE r.machine_id = e.machine_id
                             AND r.kind = 'repair' AND r.ts >= e.ts AND r.ends_at IS NOT NULL),
                %(until)s) AS ends,
       coalesce(e.details->>'finding', '') || ' ' || coalesce(e.details->>'note', '') AS note
FROM events e JOIN machines m ON m.id = e.machine_id
WHERE e.kind IN ('failure', 'maintenance') AND e.ts < %(until)s
ORDER BY e.ts, m.name
"""

_ALERTS = """
SELECT m.name, m.line, a.opened_at, a.severity FROM alerts a JOIN machines m ON m.id = a.machine_id
WHERE a.opened_at < %(until)s ORDER BY a.opened_at, m.name
"""

_PLANNED = """
SELECT m.name, m.line, coalesce(s.plan_start, s.requested_at), a.start_at
FROM schedule_assignments a JOIN schedules s ON s.id = a.schedule_id
JOIN machines m ON m.id = a.machine_id
WHERE a.kind = 'maintenance' AND s.state = 'done'
  AND coalesce(s.plan_start, s.requested_at) < %(until)s
"""

_ORDERS = """
SELECT j.external_id, j.due_at,
       CASE WHEN j.status = 'done' THEN (SELECT max(o.finished_at) FROM operations o
                                         WHERE o.job_id = j.id) END,
       coalesce(array_agg(DISTINCT m.line) FILTER (WHERE m.line IS NOT NULL), '{}'),
       coalesce(array_agg(DISTINCT m.name) FILTER (WHERE m.name IS NOT NULL), '{}')
FROM jobs j
LEFT JOIN operations op ON op.job_id = j.id
LEFT JOIN operation_options oo ON oo.operation_id = op.id
LEFT JOIN machines m ON m.id = coalesce(op.machine_id, oo.machine_id)
WHERE j.status <> 'cancelled' AND j.due_at < %(until)s
GROUP BY j.id
"""


_SCRAPPED = """
SELECT m.name, m.line, e.ts, j.external_id,
       extract(epoch FROM e.ts - o.started_at) / 60.0
FROM events e JOIN machines m ON m.id = e.machine_id
JOIN operations o ON o.machine_id = e.machine_id AND o.started_at <= e.ts
                 AND (o.finished_at IS NULL OR o.finished_at > e.ts) AND o.status <> 'cancelled'
JOIN jobs j ON j.id = o.job_id
WHERE e.kind = 'failure' AND e.ts < %(until)s
  AND NOT EXISTS (SELECT 1 FROM events f WHERE f.machine_id = e.machine_id
                  AND f.kind = 'failure' AND f.ts >= o.started_at AND f.ts < e.ts)
ORDER BY e.ts, m.name
"""


def read_history(database: Database, until: datetime) -> History:
    """Everything known up to ``until`` (stops still running end there)."""
    params = {"until": until}
    machines = {str(n): str(line or "") for n, line in database.execute(
        "SELECT name, line FROM machines ORDER BY name"
    )}  # fmt: skip
    stops = tuple(
        Stop(str(name), str(line or ""), StopKind(kind), ts, max(ends, ts), _found_wear(note))
        for name, line, kind, ts, ends, note in database.execute(_STOPS, params)
    )
    alerts = tuple(
        AlertRecord(str(name), str(line or ""), opened, severity)
        for name, line, opened, severity in database.execute(_ALERTS, params)
    )
    planned = tuple(
        PlannedTask(str(name), str(line or ""), made, start)
        for name, line, made, start in database.execute(_PLANNED, params)
    )
    orders = tuple(
        OrderRecord(str(ext), due, finished, tuple(lines), tuple(names))
        for ext, due, finished, lines, names in database.execute(_ORDERS, params)
    )
    scrapped = tuple(
        ScrapRecord(str(name), str(line or ""), ts, float(minutes), str(order))
        for name, line, ts, order, minutes in database.execute(_SCRAPPED, params)
    )
    return History(machines, stops, alerts, planned, orders, scrapped)


def _found_wear(note: str) -> bool:
    text = note.lower()
    return "found wear" in text and "no wear" not in text
