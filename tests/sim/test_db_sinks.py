"""The simulator's ground truth lands in the events table exactly once, with machine state."""

from datetime import UTC, datetime, timedelta

from millwright.core.storage import Database, ReadingsWriter
from sim.db_sinks import DatabaseEventSink, DatabaseReadingSink
from sim.records import Event, EventKind, Sample

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_events_are_stored_once_and_status_follows(database: Database) -> None:
    sink = DatabaseEventSink(database)
    sink.register_machines([("m-001", "line-1")])
    events = [
        Event(T0, "line-1", "m-001", EventKind.FAILURE, details={"unit": 7, "cycles": 150}),
        Event(T0, "line-1", "m-001", EventKind.REPAIR, ends_at=T0 + timedelta(hours=24)),
        Event(T0, "line-1", "m-001", EventKind.MAINTENANCE_SKIPPED),
    ]
    sink.write_events(events)
    sink.write_events(events)  # a restarted simulator re-sends: no duplicates
    rows = database.execute("SELECT kind, ends_at, details FROM events ORDER BY kind")
    assert [(r[0], r[1]) for r in rows] == [
        ("failure", None),
        ("repair", T0 + timedelta(hours=24)),
    ]
    assert rows[0][2] == {"unit": 7, "cycles": 150}
    assert database.execute("SELECT status, line FROM machines")[0] == ("down", "line-1")
    sink.write_samples([Sample(T0 + timedelta(hours=25), "line-1", "m-001", {"t": 1.0})])
    assert database.execute("SELECT status FROM machines")[0][0] == "running"


def test_reading_sink_writes_every_value(database: Database) -> None:
    sink = DatabaseReadingSink(ReadingsWriter(database))
    samples = [
        Sample(T0 + timedelta(minutes=10 * i), "line-1", "m-002", {"a": float(i), "b": -float(i)})
        for i in range(6)
    ]
    sink.write_samples(samples)
    rows = database.execute(
        "SELECT s.name, r.value FROM readings r JOIN sensors s ON s.id = r.sensor_id"
        " ORDER BY r.ts, s.name"
    )
    assert rows == [(name, sign * i) for i in range(6) for name, sign in (("a", 1.0), ("b", -1.0))]
