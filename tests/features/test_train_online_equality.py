"""The same instant gives bit-identical features whether computed in bulk or alone."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from features.baselines import baseline_periods, baseline_stats
from features.compute import compute_features
from features.definitions import FeatureDefinition
from tests.features.helpers import T0, at, combine, events, readings, sensor_map

DEF = FeatureDefinition(
    sensors=("a", "b", "c"), windows_minutes=(60, 360, 1440), cadence_minutes=10, baseline_hours=6
)
SENSORS = sensor_map({1: "a", 2: "b", 3: "c", 4: "a", 5: "b", 6: "c"})


def _plant() -> tuple[pd.DataFrame, pd.DataFrame, dict[int, datetime]]:
    """Two machines, three days, irregular 1–3 minute sampling, a silent spell, large values."""
    rng = np.random.default_rng(11)
    parts = []
    for machine, sensor_ids in ((1, (1, 2, 3)), (2, (4, 5, 6))):
        for k, sensor in enumerate(sensor_ids):
            minutes = np.cumsum(rng.uniform(1, 3, 2400)) + rng.uniform(0, 1)
            minutes = minutes[minutes < 3 * 1440]
            if sensor == 5:
                minutes = minutes[(minutes < 1500) | (minutes > 1900)]
            values = 1e5 * (k + 1) + np.cumsum(rng.normal(0, 0.1, len(minutes)))
            parts.append(readings(machine, sensor, minutes, values))
    ev = events(
        [
            (1, 700, "maintenance"),
            (1, 2000, "failure"),
            (1, 2200, "repair"),
            (2, 900.5, "error"),
            (2, 1300, "error"),
            (2, 1600, "offline"),
            (2, 1700, "online"),
        ]
    )
    return combine(*parts), ev, {1: T0, 2: T0}


def test_bulk_and_single_instant_agree_bit_for_bit() -> None:
    data, ev, origins = _plant()
    start, end = at(1440), at(3 * 1440 - 10)
    periods = baseline_periods(DEF, ev, origins, [1, 2], start, end)
    baselines = baseline_stats(DEF, data, SENSORS, periods)
    common = {"sensors": SENSORS, "machine_ids": [1, 2], "events": ev, "origins": origins}
    bulk = compute_features(DEF, data, start=start, end=end, baselines=baselines, **common)
    assert len(bulk) == 2 * 288
    assert bulk.notna().mean().mean() > 0.9
    assert bulk["dev_rms_6h"].notna().mean() > 0.5  # the across-sensor stats are compared too

    for minutes in (1440, 1850, 2210, 2600, 3 * 1440 - 10):
        t = at(minutes)
        # online: only the look-back window is loaded
        window = data[(data["ts"] >= t - DEF.lookback) & (data["ts"] < t)]
        online = compute_features(DEF, window, start=t, end=t, baselines=baselines, **common)
        # and with unrelated history around it
        wider = data[(data["ts"] >= t - DEF.lookback - timedelta(hours=5))]
        other = compute_features(DEF, wider, start=t, end=t, baselines=baselines, **common)
        expected = bulk[bulk["ts"] == t].reset_index(drop=True)
        for frame in (online, other):
            assert list(frame.columns) == list(expected.columns)
            assert (frame["machine_id"] == expected["machine_id"]).all()
            values, wanted = frame.iloc[:, 2:].to_numpy(), expected.iloc[:, 2:].to_numpy()
            assert np.array_equal(values, wanted, equal_nan=True), t


def test_baselines_do_not_depend_on_the_rows_around_them() -> None:
    data, ev, origins = _plant()
    periods = baseline_periods(DEF, ev, origins, [1, 2], at(1440), at(3 * 1440 - 10))
    everything = baseline_stats(DEF, data, SENSORS, periods)
    for i, period in periods.iterrows():
        alone = data[(data["ts"] >= period["start"]) & (data["ts"] < period["end"])]
        one = baseline_stats(DEF, alone, SENSORS, periods.iloc[[i]])
        assert np.array_equal(one.mean[0], everything.mean[i], equal_nan=True)
        assert np.array_equal(one.std[0], everything.std[i], equal_nan=True)


def test_row_order_of_the_input_does_not_matter() -> None:
    data, ev, origins = _plant()
    common = {"sensors": SENSORS, "machine_ids": [1, 2], "events": ev, "origins": origins}
    t = at(2600)
    window = data[(data["ts"] >= t - DEF.lookback) & (data["ts"] < t)]
    shuffled = window.sample(frac=1.0, random_state=1)
    a = compute_features(DEF, window, start=t, end=t, **common)
    b = compute_features(DEF, shuffled, start=t, end=t, **common)
    assert np.array_equal(a.iloc[:, 2:].to_numpy(), b.iloc[:, 2:].to_numpy(), equal_nan=True)
