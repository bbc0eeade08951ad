"""Feature jobs against PostgreSQL: incremental, idempotent, and equal to the bulk math."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.bulk_read import read_series
from features.compute import compute_features
from features.config import FeaturesConfig
from features.errors import UnknownVersionError
from features.frames import latest_features, load_training_frame
from features.inputs import read_events, read_sensors
from features.jobs import FeatureJob
from features.store import FeatureStore
from millwright.core.storage import Database, ReadingsWriter, read_readings
from tests.features.conftest import plant_readings
from tests.features.helpers import T0, at


def _stored(database: Database, job: FeatureJob) -> pd.DataFrame:
    return FeatureStore(database).read(job.version, at(0), at(10_000))


def _bulk(database: Database, job: FeatureJob, start: float, end: float) -> pd.DataFrame:
    """The same instants computed in one go from everything, as training would."""
    from features.baselines import baseline_periods, baseline_stats

    everything = read_readings(database, start=at(-10_000), end=at(10_000))
    sensors = read_sensors(database)
    ev = read_events(database, [1, 2], at(10_000))
    origins = {1: T0, 2: T0}
    periods = baseline_periods(job.definition, ev, origins, [1, 2], at(start), at(end))
    return compute_features(
        job.definition,
        everything,
        sensors=sensors,
        machine_ids=[1, 2],
        start=at(start),
        end=at(end),
        events=ev,
        origins=origins,
        baselines=baseline_stats(job.definition, everything, sensors, periods),
    )


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    a = a.sort_values(["machine_id", "ts"]).reset_index(drop=True)
    b = b.sort_values(["machine_id", "ts"]).reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    assert (a["machine_id"].to_numpy() == b["machine_id"].to_numpy()).all()
    assert (a["ts"].to_numpy() == b["ts"].to_numpy()).all()
    assert np.array_equal(a.iloc[:, 2:].to_numpy(), b.iloc[:, 2:].to_numpy(), equal_nan=True)


def test_runs_are_incremental_idempotent_and_equal_to_bulk(
    plant: Database, config: FeaturesConfig
) -> None:
    job = FeatureJob(plant, config)
    first = job.run(until=at(1440))
    assert (first.rows, first.written) == (2 * 144, 2 * 144)  # instants 00:10 .. 24:00
    again = job.run(until=at(1440))
    assert (again.rows, again.written) == (0, 0)
    assert job.store.watermarks(job.version) == {1: at(1440), 2: at(1440)}

    later = job.run(until=at(2000))
    assert later.written == 2 * 56
    assert later.readings < 2 * 3 * (360 + 560) // 2  # look-back + new minutes, not history
    _same(_stored(plant, job), _bulk(plant, job, 10, 2000))


def test_run_defaults_to_the_plant_clock_and_takes_new_readings(
    plant: Database, config: FeaturesConfig
) -> None:
    job = FeatureJob(plant, config)
    assert job.run().through == at(2870)  # newest reading 47:58 → last complete bin
    ReadingsWriter(plant).write(plant_readings(2880, 2900))
    result = job.run()
    assert (result.written, result.through) == (2 * 2, at(2890))
    assert job.run().written == 0


def test_backfill_is_idempotent_and_joins_up_with_runs(
    plant: Database, config: FeaturesConfig
) -> None:
    job = FeatureJob(plant, config)
    first = job.backfill(at(600), at(1200))
    assert first.written == 2 * 61
    assert job.backfill(at(600), at(1200)).written == 0
    assert job.store.watermarks(job.version) == {1: at(1200), 2: at(1200)}
    assert job.run(until=at(1300)).written == 2 * 10
    # a backfill of older instants leaves the watermark where it is
    assert job.backfill(at(100), at(300)).written == 2 * 21
    assert job.store.watermarks(job.version) == {1: at(1300), 2: at(1300)}
    _same(_stored(plant, job).query("ts >= @at(600)"), _bulk(plant, job, 600, 1300))


def test_training_frame_and_latest_features(plant: Database, config: FeaturesConfig) -> None:
    job = FeatureJob(plant, config)
    job.run(until=at(2000))
    X, labels = load_training_frame(
        plant, job.version, at(0), at(2000), horizon_hours=2.0, observed_until=at(2880)
    )
    assert list(X.columns) == list(job.definition.names)
    assert len(X) == len(labels)
    assert list(labels.columns) == [
        "machine_id", "ts", "failed_within_h", "rul", "rul_lower", "censored", "down",
    ]  # fmt: skip
    m2 = labels[labels["machine_id"] == 2].set_index("ts")
    assert m2.loc[at(900), "rul"] == pytest.approx(100 / 60)
    assert bool(m2.loc[at(900), "failed_within_h"])
    assert at(1050) not in m2.index  # down between failure and repair: dropped
    assert m2.loc[at(1200), "censored"]
    assert labels[labels["machine_id"] == 1]["censored"].all()
    assert not labels["down"].any()
    _, with_down = load_training_frame(
        plant, job.version, at(0), at(2000), observed_until=at(2880), include_down=True
    )
    assert with_down["down"].sum() == 9  # machine 2 from 16:50 to 18:10 (repaired 18:20)

    latest = latest_features(plant, job.version)
    assert list(latest["machine_id"]) == [1, 2]
    assert (latest["ts"] == at(2000)).all()
    training_rows = X[labels["ts"] == at(2000)].to_numpy()
    assert np.array_equal(latest.iloc[:, 2:].to_numpy(), training_rows, equal_nan=True)
    assert len(latest_features(plant, job.version, [2])) == 1


def test_baselines_are_stored_once(plant: Database, config: FeaturesConfig) -> None:
    job = FeatureJob(plant, config)
    job.run(until=at(1000))
    rows = plant.execute("SELECT machine_id, started_at FROM feature_baselines ORDER BY 1, 2")
    assert rows == [(1, at(0)), (1, at(400)), (2, at(0))]
    job.run(until=at(1500))
    rows = plant.execute("SELECT machine_id, started_at FROM feature_baselines ORDER BY 1, 2")
    assert (2, at(1100)) in rows and len(rows) == 4


def test_series_reader_matches_read_readings(plant: Database) -> None:
    expected = read_readings(plant, start=at(100), end=at(900), machine_ids=[2])
    got = read_series(plant, start=at(100), end=at(900), machine_ids=[2])
    got = got.sort_values(["machine_id", "sensor_id", "ts"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)
    assert read_series(plant, start=at(5000), end=at(6000), machine_ids=[2]).empty


def test_unknown_versions_are_errors(plant: Database) -> None:
    store = FeatureStore(plant)
    with pytest.raises(UnknownVersionError, match="fd-nope"):
        store.read("fd-nope", at(0), at(1))
    with pytest.raises(UnknownVersionError):
        latest_features(plant, "fd-nope")


def test_named_view_for_people(plant: Database, config: FeaturesConfig) -> None:
    job = FeatureJob(plant, config)
    job.run(until=at(60))
    (values,) = plant.execute(
        'SELECT "values" FROM features_named WHERE machine_id = 1 AND ts = %s', (at(60),)
    )[0]
    assert values["a__count_1h"] == 30  # minutes 0, 2, .., 58
    assert values["a__std_1h"] is not None and values["hours_since_maintenance"] is None
