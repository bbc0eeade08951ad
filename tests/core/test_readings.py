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
