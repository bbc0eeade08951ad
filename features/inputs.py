"""What feature jobs read from the shell's tables: sensors, events and the readings' extent.

The extent queries walk the ``(machine_id, sensor_id, ts)`` index one sensor at a time
(LATERAL ... LIMIT 1), so finding a machine's first or latest reading costs a few index probes
instead of a scan of its history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from millwright.core.storage import Database

_SENSORS = "SELECT id, machine_id, name FROM sensors ORDER BY id"
_MACHINES = "SELECT id FROM machines ORDER BY id"
_EVENTS = (
    "SELECT machine_id, ts, kind, ends_at FROM events"
    " WHERE machine_id = ANY(%(machines)s) AND ts < %(end)s ORDER BY machine_id, ts, id"
)
_EXTENT = """
SELECT s.machine_id, {agg}(x.ts)
FROM sensors s
CROSS JOIN LATERAL (
    SELECT r.ts FROM readings r
    WHERE r.machine_id = s.machine_id AND r.sensor_id = s.id
    ORDER BY r.ts {direction} LIMIT 1
) x
WHERE s.machine_id = ANY(%(machines)s)
GROUP BY s.machine_id
"""
_FIRST = _EXTENT.format(agg="min", direction="ASC")
_LATEST = _EXTENT.format(agg="max", direction="DESC")


def read_sensors(database: Database) -> pd.DataFrame:
    """sensor_id, machine_id, sensor (name) of every registered sensor."""
    rows = database.execute(_SENSORS)
    frame = pd.DataFrame(rows, columns=["sensor_id", "machine_id", "sensor"])
    return frame.astype({"sensor_id": "int64", "machine_id": "int64", "sensor": "object"})


def machine_ids(database: Database) -> list[int]:
    return [int(row[0]) for row in database.execute(_MACHINES)]


def read_events(database: Database, machines: Sequence[int], end: datetime) -> pd.DataFrame:
    """Events of ``machines`` before ``end``: machine_id, ts, kind, ends_at."""
    rows = database.execute(_EVENTS, {"machines": list(machines), "end": end})
    frame = pd.DataFrame(rows, columns=["machine_id", "ts", "kind", "ends_at"])
    frame["machine_id"] = frame["machine_id"].astype("int64")
    for column in ("ts", "ends_at"):
        frame[column] = pd.DatetimeIndex(
            pd.to_datetime(frame[column].astype(object), utc=True)
        ).as_unit("us")
    return frame


def first_readings(database: Database, machines: Sequence[int]) -> dict[int, datetime]:
    """Each machine's first reading (its origin); machines without readings are absent."""
    return {int(m): ts for m, ts in database.execute(_FIRST, {"machines": list(machines)})}


def latest_readings(database: Database, machines: Sequence[int]) -> dict[int, datetime]:
    """Each machine's newest reading; the plant clock is the newest of them."""
    return {int(m): ts for m, ts in database.execute(_LATEST, {"machines": list(machines)})}
