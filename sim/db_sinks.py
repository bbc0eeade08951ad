"""Database sinks for the simulator: ground-truth events and machine state, and a direct
reading sink for generating history without a broker (the demo's bundled training plant).

Events are written idempotently (the events table is unique on machine, kind, ts, source), so
a restarted simulator never doubles its ground truth.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import numpy as np

from millwright.core.storage import Database, ReadingColumns, ReadingsWriter
from sim.records import Event, EventKind, MaintenanceOrder, Sample

SOURCE = "sim"
_STORED_KINDS = {EventKind.FAILURE, EventKind.REPAIR, EventKind.MAINTENANCE}
_STATUS_AFTER = {
    EventKind.FAILURE: "down",
    EventKind.REPAIR: "down",
    EventKind.MAINTENANCE: "maintenance",
}


class DatabaseEventSink:
    """Stores failure, repair and maintenance events and keeps ``machines.status`` current.

    It is also a reading sink: a machine that produces samples again is running again.
    """

    def __init__(self, database: Database) -> None:
        self._database = database

    def register_machines(self, machines: Sequence[tuple[str, str]]) -> None:
        """(machine, line) pairs, registered or updated before the first reading arrives."""
        with self._database.connection() as conn:
            for machine, line in machines:
                conn.execute(
                    "INSERT INTO machines (name, line) VALUES (%s, %s)"
                    " ON CONFLICT (name) DO UPDATE SET line = EXCLUDED.line",
                    (machine, line),
                )

    def write_events(self, events: Sequence[Event]) -> None:
        stored = [e for e in events if e.kind in _STORED_KINDS]
        if not stored:
            return
        with self._database.connection() as conn:
            for event in stored:
                details = {k: _plain(v) for k, v in event.details.items()}
                conn.execute(
                    "INSERT INTO machines (name, line) VALUES (%s, %s)"
                    " ON CONFLICT (name) DO NOTHING",
                    (event.machine, event.line),
                )
                conn.execute(
                    "INSERT INTO events (ts, machine_id, kind, ends_at, source, details)"
                    " SELECT %s, id, %s, %s, %s, %s::jsonb FROM machines WHERE name = %s"
                    " ON CONFLICT (machine_id, kind, ts, source) DO NOTHING",
                    (
                        event.ts,
                        event.kind.value,
                        event.ends_at,
                        SOURCE,
                        json.dumps(details),
                        event.machine,
                    ),
                )
                conn.execute(
                    "UPDATE machines SET status = %s, status_since = %s WHERE name = %s",
                    (_STATUS_AFTER[event.kind], event.ts, event.machine),
                )

    def write_samples(self, samples: Sequence[Sample]) -> None:
        """Only running machines produce samples: a sample ends a repair or maintenance."""
        if not samples:
            return
        self._database.execute(
            "UPDATE machines SET status = 'running', status_since = %s"
            " WHERE name = ANY(%s) AND status <> 'running'",
            (samples[0].ts, sorted({s.machine for s in samples})),
        )


def recorded_maintenance(database: Database, before: datetime) -> list[MaintenanceOrder]:
    """The maintenance this simulator recorded before ``before``, as orders at the times they
    ran: replayed while fast-forwarding, they bring a restarted plant back to the state it
    stopped in (the plant is otherwise a pure function of its seed and start)."""
    rows = database.execute(
        "SELECT m.name, e.ts, e.ends_at FROM events e JOIN machines m ON m.id = e.machine_id"
        " WHERE e.kind = 'maintenance' AND e.source = %s AND e.ts < %s ORDER BY e.ts, m.name",
        (SOURCE, before),
    )
    return [
        MaintenanceOrder(
            machine, ts, f"replay-{i}", (ends - ts) if ends is not None and ends > ts else None
        )
        for i, (machine, ts, ends) in enumerate(rows)
    ]


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, (int, float, str, bool, type(None))) else str(value)


class DatabaseReadingSink:
    """Writes samples straight through the bulk writer: for generating history fast."""

    def __init__(self, writer: ReadingsWriter) -> None:
        self._writer = writer

    def write_samples(self, samples: Sequence[Sample]) -> None:
        machines: list[str] = []
        sensors: list[str] = []
        stamps: list[np.datetime64] = []
        values: list[float] = []
        for sample in samples:
            ts = np.datetime64(sample.ts.replace(tzinfo=None), "us")
            for sensor, value in sample.values.items():
                machines.append(sample.machine)
                sensors.append(sensor)
                stamps.append(ts)
                values.append(value)
        if not values:
            return
        n = len(values)
        self._writer.write(
            ReadingColumns(
                machine=np.array(machines, dtype=object),
                sensor=np.array(sensors, dtype=object),
                ts=np.array(stamps, dtype="datetime64[us]"),
                value=np.array(values, dtype=np.float64),
                quality=np.zeros(n, dtype=np.int16),
                naive=np.zeros(n, dtype=bool),
            )
        )
