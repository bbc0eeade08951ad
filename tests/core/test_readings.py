from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from millwright.core.storage import Reading, ReadingsWriter, UnknownSourceError, read_readings
from millwright.core.storage.database import Database

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _readings(n: int, machine: str = "press-1") -> list[Reading]:
    return [
        Reading(machine, f"s{i % 3}", T0 + timedelta(minutes=i // 3), float(i)) for i in range(n)
    ]


def test_write_then_read_back_exactly(database: Database) -> None:
    writer = ReadingsWriter(database)
    result = writer.write(_readings(30))
    assert (result.received, result.inserted, result.duplicates) == (30, 30, 0)
    frame = read_readings(database, start=T0, end=T0 + timedelta(days=1))
    assert len(frame) == 30
    assert sorted(frame["value"]) == [float(i) for i in range(30)]
    assert frame["ts"].min() == pd.Timestamp(T0)


def test_resend_is_a_no_op_and_partial_overlap_counts_new_rows(database: Database) -> None:
    writer = ReadingsWriter(database)
    writer.write(_readings(30))
    again = writer.write(_readings(30))
    assert (again.inserted, again.duplicates) == (0, 30)
    overlap = writer.write(_readings(45))
    assert (overlap.inserted, overlap.duplicates) == (15, 30)
    # after the conflict the writer uses staging; a clean batch still counts exactly
    fresh = writer.write(_readings(9, machine="press-2"))
    assert fresh.inserted == 9
    assert database.execute("SELECT count(*) FROM readings")[0][0] == 54


def test_duplicates_inside_one_batch(database: Database) -> None:
    writer = ReadingsWriter(database)
    batch = _readings(3) + _readings(3)
    result = writer.write(batch)
    assert result.inserted == 3
    assert result.duplicates == 3


def test_bad_rows_rejected_with_reasons_rest_written(database: Database) -> None:
    writer = ReadingsWriter(database)
    now = datetime.now(UTC)
    batch = [
        Reading("m", "a", T0, 1.0),
        Reading("m", "a", T0 + timedelta(seconds=1), float("nan")),
        Reading("m", "a", T0 + timedelta(seconds=2), float("inf")),
        Reading("m", "a", datetime(1999, 12, 31, tzinfo=UTC), 1.0),
        Reading("m", "a", now + timedelta(days=2), 1.0),
        Reading("m", "a", datetime(2026, 1, 1), 1.0),  # naive
        Reading("m", "a", T0 + timedelta(seconds=3), 2.0),
    ]
    result = writer.write(batch)
    assert result.inserted == 2
    reasons = {r.index: r.reason for r in result.rejected}
    assert reasons == {
        1: "value is not a finite number",
        2: "value is not a finite number",
        3: "timestamp before 2000-01-01",
        4: "timestamp more than 86400 s in the future",
        5: "timestamp has no timezone",
    }


def test_unknown_sources_rejected_when_registration_off(database: Database) -> None:
    ReadingsWriter(database).write([Reading("known", "a", T0, 1.0)])
    strict = ReadingsWriter(database, register_unknown=False)
    result = strict.write(
        [Reading("known", "a", T0 + timedelta(seconds=1), 1.0), Reading("new", "a", T0, 1.0)]
    )
    assert result.inserted == 1
    assert result.rejected[0].reason.startswith("unknown machine or sensor")
    with pytest.raises(UnknownSourceError):
        strict.sources.machine_id("other")


def test_frame_round_trip_with_machine_and_sensor_filters(database: Database) -> None:
    n = 1000
    frame = pd.DataFrame(
        {
            "machine": np.where(np.arange(n) % 2 == 0, "a", "b"),
            "sensor": "temp",
            "ts": pd.date_range(T0, periods=n, freq="1min", tz="UTC"),
            "value": np.arange(n, dtype=float),
        }
    )
    assert ReadingsWriter(database).write(frame).inserted == n
    machine_a = database.execute("SELECT id FROM machines WHERE name = 'a'")[0][0]
    out = read_readings(database, start=T0, end=T0 + timedelta(days=2), machine_ids=[machine_a])
    assert len(out) == 500
    assert out["value"].tolist() == list(np.arange(0, n, 2, dtype=float))
    assert str(out["ts"].dt.tz) == "UTC"


def test_ids_resolved_per_machine_and_sensor_pair_in_a_mixed_batch(database: Database) -> None:
    """Sensor names repeat across machines and rows arrive interleaved: every row must land
    on its own (machine, sensor) pair."""
    rng = np.random.default_rng(3)
    pairs = [(f"mx-{m}", f"s{s}") for m in range(4) for s in range(5)]
    order = rng.permutation(np.repeat(np.arange(len(pairs)), 3))
    readings = [
        Reading(pairs[k][0], pairs[k][1], T0 + timedelta(seconds=i), float(i))
        for i, k in enumerate(order)
    ]
    writer = ReadingsWriter(database)
    assert writer.write(readings).inserted == len(readings)
    ids = writer.sources.ids(pairs)
    by_ids = {v: k for k, v in ids.items()}
    frame = read_readings(database, start=T0, end=T0 + timedelta(days=1))
    got = {
        (by_ids[(int(m), int(s))], int(v))
        for m, s, v in zip(frame["machine_id"], frame["sensor_id"], frame["value"], strict=True)
    }
    assert got == {(pairs[k], i) for i, k in enumerate(order)}


def test_missing_names_in_columns_are_rejected_not_registered(database: Database) -> None:
    frame = pd.DataFrame(
        {
            "machine": ["press-1", None, "press-1"],
            "sensor": ["s0", "s0", np.nan],
            "ts": [T0, T0, T0 + timedelta(seconds=1)],
            "value": [1.0, 2.0, 3.0],
        }
    )
    result = ReadingsWriter(database).write(frame)
    assert (result.inserted, [r.index for r in result.rejected]) == (1, [1, 2])
    assert {r.reason for r in result.rejected} == {"missing machine or sensor name"}
    names = database.execute("SELECT name FROM machines ORDER BY name")
    assert [n for (n,) in names] == ["press-1"]


def test_replays_with_duplicates_never_meet_a_duplicate_key_error(database: Database) -> None:
    """Duplicates are found before COPY, so the server raises (and logs) no unique violation."""
    writer = ReadingsWriter(database)
    writer.write(_readings(30))
    assert (writer.direct_copies, writer.staged_copies) == (1, 0)
    assert writer.write(_readings(30)).inserted == 0  # exact replay
    assert writer.write(_readings(45)).inserted == 15  # overlapping replay
    assert writer.write(_readings(3) + _readings(3)).inserted == 0  # duplicates inside a batch
    later = T0 + timedelta(hours=1)
    fresh = [Reading("press-1", f"s{i % 3}", later + timedelta(minutes=i), 1.0) for i in range(6)]
    assert writer.write(fresh).inserted == 6
    assert (writer.direct_copies, writer.staged_copies) == (2, 3)
    assert writer.unexpected_conflicts == 0
    assert database.execute("SELECT count(*) FROM readings")[0][0] == 51


def test_old_replayed_span_is_refreshed_once_the_replay_is_over(database: Database) -> None:
    clock = [100.0]
    writer = ReadingsWriter(database, clock=lambda: clock[0])
    recent = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    writer.write(_readings(30))  # 2026-01-01: far older than the aggregate's refresh window
    assert writer.stale_span == (T0, T0 + timedelta(minutes=9))
    clock[0] += 5
    writer.write([Reading("press-1", "s0", recent, 1.0)])  # live data between replay batches
    writer.write(_readings(60)[30:])
    assert writer.stale_span == (T0, T0 + timedelta(minutes=19))
    clock[0] += 9
    writer.write([Reading("press-1", "s0", recent + timedelta(seconds=1), 1.0)])
    assert writer.stale_span is not None  # 9 s without old rows: maybe more to come
    clock[0] += 1
    writer.write([Reading("press-1", "s0", recent + timedelta(seconds=2), 1.0)])
    assert writer.stale_span is None  # 10 s quiet: refreshed (a no-op without TimescaleDB)
    writer.write(_readings(60))  # all duplicates: nothing new, nothing to refresh
    assert writer.stale_span is None
    for minute in range(0, 70, 5):  # a long replay refreshes at least every minute
        clock[0] += 5
        writer.write([Reading("press-1", "s9", T0 + timedelta(days=1, minutes=minute), 1.0)])
    last = T0 + timedelta(days=1, minutes=65)  # minutes 0-60 were refreshed after 60 s
    assert writer.stale_span == (last, last)
