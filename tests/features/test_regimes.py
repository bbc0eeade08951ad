"""Operating regimes: fit on training readings only, normalise per regime, bulk = online."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from features.baselines import baseline_periods, baseline_stats
from features.compute import compute_features
from features.config import FeaturesConfig
from features.definitions import FeatureDefinition
from features.jobs import FeatureJob
from features.machine_events import to_us
from features.regimes import RegimeModel, fit_regimes
from features.series import series_rows
from features.store import FeatureStore
from millwright.core.storage import Database, ReadingsWriter
from tests.features.helpers import T0, at, combine, events, readings, sensor_map

SENSORS = sensor_map({1: "speed", 2: "temp", 3: "speed", 4: "temp"})
BASE = FeatureDefinition(sensors=("temp",), windows_minutes=(60, 240), baseline_hours=2)


def _plant(seed: int = 3) -> pd.DataFrame:
    """Two machines; speed alternates 1000/3000 rpm every 50 minutes; temp is 40 + 0.01·rpm
    plus noise, and machine 2 runs 5 degrees warmer."""
    rng = np.random.default_rng(seed)
    parts = []
    for machine, (speed_id, temp_id) in ((1, (1, 2)), (2, (3, 4))):
        minutes = np.arange(0, 1440, 2.0) + 0.5
        speed = np.where((minutes // 50) % 2 == 0, 1000.0, 3000.0)
        temp = 40 + 0.01 * speed + 5 * (machine - 1) + rng.normal(0, 0.5, len(minutes))
        parts.append(readings(machine, speed_id, minutes, speed))
        parts.append(readings(machine, temp_id, minutes, temp))
    return combine(*parts)


def _fit(data: pd.DataFrame, method: str = "kmeans") -> RegimeModel:
    return fit_regimes(
        data,
        SENSORS,
        conditions=["speed"],
        normalised=["temp"],
        cadence_minutes=10,
        method=method,  # type: ignore[arg-type]
    )


def test_regimes_are_fit_on_the_training_rows_only() -> None:
    data = _plant()
    train = data[data["machine_id"] == 1]
    model = _fit(train)
    assert model.n_regimes == 2  # found from the data: two tight clusters of speed
    assert np.allclose(model.centres, [[1000.0], [3000.0]], rtol=1e-12)
    temp = train[train["sensor_id"] == 2]["value"].to_numpy()
    speed = train[train["sensor_id"] == 1]["value"].to_numpy()
    for r, rpm in enumerate((1000.0, 3000.0)):
        values = pd.Series(temp[speed == rpm])
        assert model.mean[r][0] == pytest.approx(values.mean(), abs=1e-12)
        assert model.std[r][0] == pytest.approx(values.std(), abs=1e-12)
    # the held-out machine's readings change nothing; fitting on everything would
    shifted = data.copy()
    shifted.loc[shifted["sensor_id"] == 4, "value"] += 100.0
    assert _fit(shifted[shifted["machine_id"] == 1]) == model
    assert _fit(shifted) != model
    discrete = _fit(train, "discrete")
    assert discrete.centres == ((1000.0,), (3000.0,)) and discrete.mean == model.mean


def test_normalised_features_remove_the_regime() -> None:
    data = _plant()
    definition = BASE.with_regimes(_fit(data[data["machine_id"] == 1]))
    assert definition.version != BASE.version
    assert FeatureDefinition.from_json(definition.to_json()) == definition
    assert definition.input_sensors == ("temp", "speed")
    common = {"sensors": SENSORS, "machine_ids": [1, 2]}
    raw = compute_features(BASE, data, start=at(240), end=at(1430), **common)
    norm = compute_features(definition, data, start=at(240), end=at(1430), **common)
    # raw temperature swings with speed; normalised, machine 1 is noise around 0 in every
    # regime and machine 2 sits 5 degrees (10 of its regime std of ~0.5) higher
    assert raw.loc[raw["machine_id"] == 1, "temp__std_4h"].min() > 9
    m1 = norm[norm["machine_id"] == 1]
    m2 = norm[norm["machine_id"] == 2]
    assert m1["temp__mean_4h"].abs().max() < 0.3
    assert m1["temp__std_4h"].max() < 1.3
    assert m2["temp__mean_4h"].min() > 8


def test_regime_features_are_equal_bulk_and_online() -> None:
    data = _plant()
    definition = BASE.with_regimes(_fit(data[data["machine_id"] == 1]))
    ev = events([(1, 300, "maintenance"), (2, 610, "repair")])
    origins = {1: T0, 2: T0}
    start, end = at(240), at(1430)
    periods = baseline_periods(definition, ev, origins, [1, 2], start, end)
    baselines = baseline_stats(definition, data, SENSORS, periods)
    common = {"sensors": SENSORS, "machine_ids": [1, 2], "events": ev, "origins": origins}
    bulk = compute_features(definition, data, start=start, end=end, baselines=baselines, **common)
    assert bulk["temp__dev_1h"].notna().sum() > 100
    for minutes in (240, 550, 620, 1000, 1430):
        t = at(minutes)
        window = data[(data["ts"] >= t - definition.lookback) & (data["ts"] < t)]
        online = compute_features(definition, window, start=t, end=t, baselines=baselines, **common)
        wider = data[data["ts"] >= t - definition.lookback - timedelta(minutes=70)]
        other = compute_features(definition, wider, start=t, end=t, baselines=baselines, **common)
        expected = bulk[bulk["ts"] == t].iloc[:, 2:].to_numpy()
        for frame in (online, other):
            assert np.array_equal(frame.iloc[:, 2:].to_numpy(), expected, equal_nan=True), t
    # baselines from only their period's bins equal those from everything
    for i, period in periods.iterrows():
        alone = data[(data["ts"] >= period["start"] - timedelta(minutes=10))]
        alone = alone[alone["ts"] < period["end"] + timedelta(minutes=10)]
        one = baseline_stats(definition, alone, SENSORS, periods.iloc[[i]])
        assert np.array_equal(one.mean[0], baselines.mean[i], equal_nan=True)


def _write(database: Database, data: pd.DataFrame) -> None:
    names = {1: ("m1", "speed"), 2: ("m1", "temp"), 3: ("m2", "speed"), 4: ("m2", "temp")}
    frame = pd.DataFrame(
        {
            "machine": [names[int(s)][0] for s in data["sensor_id"]],
            "sensor": [names[int(s)][1] for s in data["sensor_id"]],
            "ts": data["ts"],
            "value": data["value"],
        }
    )
    ReadingsWriter(database).write(frame)


def test_feature_job_fits_regimes_and_stores_what_the_math_gives(database: Database) -> None:
    data = _plant()
    _write(database, data)
    config = FeaturesConfig(
        windows_minutes=[60, 240],
        baseline_hours=2,
        operating_conditions=["speed"],
        regime_fit_hours=12,
        chunk_hours=5,
    )
    job = FeatureJob(database, config)
    regimes = job.definition.regimes
    assert regimes is not None and job.definition.sensors == ("temp",)
    # the same readings, with the ids the database gave them
    first_half = data[data["ts"] < at(720)]
    ids = dict(
        database.execute(
            "SELECT m.name || '/' || s.name, s.id FROM sensors s JOIN machines m"
            " ON m.id = s.machine_id"
        )
    )
    machine_of = dict(database.execute("SELECT name, id FROM machines"))
    names = {1: "m1/speed", 2: "m1/temp", 3: "m2/speed", 4: "m2/temp"}
    first_half = first_half.assign(
        sensor_id=first_half["sensor_id"].map(lambda s: ids[names[s]]),
        machine_id=first_half["machine_id"].map(lambda m: machine_of[f"m{m}"]),
    )
    sensors = pd.DataFrame(
        {"sensor_id": [ids[n] for n in names.values()], "sensor": ["speed", "temp"] * 2}
    )
    assert regimes == fit_regimes(
        first_half,
        sensors,
        conditions=["speed"],
        normalised=["temp"],
        cadence_minutes=10,
    )
    job.run()
    stored = FeatureStore(database).read(job.version, at(0), at(2000))
    assert len(stored) == 2 * 143  # instants 10 .. 1430 min, both machines
    assert stored["temp__mean_4h"].abs().max() < 12


def test_a_silent_machine_stops_getting_features(database: Database) -> None:
    data = _plant()
    silent = (data["machine_id"] == 2) & (data["ts"] >= at(600))
    _write(database, data[~silent])
    config = FeaturesConfig(windows_minutes=[60, 240], baseline_hours=2, staleness_minutes=30)
    job = FeatureJob(database, config)
    job.run()
    stored = FeatureStore(database).read(job.version, at(0), at(2000))
    last = stored.groupby("machine_id")["ts"].max()
    machine_of = dict(database.execute("SELECT name, id FROM machines"))
    assert last[machine_of["m1"]] == at(1430)
    # m2's last reading is at 598.5 min: rows up to 598.5 + 30 min, none after
    assert last[machine_of["m2"]] == at(620)
    # a backfill over the silence adds nothing for it either
    job.backfill(at(0), at(1430))
    again = FeatureStore(database).read(job.version, at(0), at(2000))
    assert again.groupby("machine_id")["ts"].max().to_dict() == last.to_dict()


def test_windowed_series_normalise_only_their_bins_and_match_everything_normalised() -> None:
    # Scoring one instant must not re-normalise a whole history, and must give the very values
    # normalising everything gives: windows on and off the cadence grid, one machine or both.
    data = _plant()
    definition = BASE.with_regimes(_fit(data[data["machine_id"] == 1]))
    assert definition.regimes is not None
    everything = definition.regimes.normalise(data, SENSORS, 10, definition.sensors)
    ts = data["ts"].array.as_unit("us").asi8
    temp = data["sensor_id"].isin([2, 4]).to_numpy()
    for machines, start, end in (([2], 243, 611), ([1, 2], 240, 1430), ([1], 0, 7)):
        first, last = int(to_us([at(start)])[0]), int(to_us([at(end)])[0])
        rows = series_rows(definition, data, SENSORS, machines, start_us=first, end_us=last)
        keep = data["machine_id"].isin(machines).to_numpy() & (ts >= first) & (ts < last)
        expected = everything[keep & temp]
        assert len(expected) > 0
        assert np.array_equal(rows.value, expected)
