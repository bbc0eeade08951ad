"""Features from closed bins reduced one at a time equal the bulk path's, bit for bit.

The edge reduces each cadence bin once it closes and keeps ten numbers per sensor instead of
its samples; these tests hold that path to the bulk features (irregular sampling, a silent
spell, events, baselines, operating regimes) for every split between stored bins and raw
readings of a look-back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from features.baselines import Baselines, baseline_periods, baseline_stats
from features.bins import BIN_FIELDS, closed_bins, empty_bins, features_from_bins
from features.compute import compute_features
from features.definitions import FeatureDefinition
from features.machine_events import to_us
from features.state import FeatureState
from tests.features import test_regimes as regimes_case
from tests.features import test_train_online_equality as plant_case
from tests.features.helpers import T0, at, events


def _state(
    definition: FeatureDefinition,
    sensors: pd.DataFrame,
    machine_of: dict[int, int],
    ev: pd.DataFrame,
    baselines: Baselines,
) -> FeatureState:
    frame = sensors.assign(machine_id=[machine_of[int(s)] for s in sensors["sensor_id"]])
    return FeatureState(definition, frame, ev, {1: T0, 2: T0}, baselines)


def _bin_by_bin(
    state: FeatureState, data: pd.DataFrame, instant: datetime, n_closed: int
) -> pd.DataFrame:
    """The first ``n_closed`` bins of the look-back reduced each from its own readings alone
    (as the edge closes them), the rest from raw readings."""
    definition = state.definition
    cadence_us = definition.cadence_minutes * 60_000_000
    n_lookback = max(definition.windows_minutes) // definition.cadence_minutes
    first = int(to_us([instant])[0]) - n_lookback * cadence_us
    ts = data["ts"].array.as_unit("us").asi8
    parts = [empty_bins(2 * len(definition.sensors), 0)]
    for b in range(n_closed):
        start = first + b * cadence_us
        alone = data[(ts >= start) & (ts < start + cadence_us)]
        parts.append(closed_bins(state, alone, [1, 2], first_us=start, n_bins=1))
    open_from = first + n_closed * cadence_us
    raw = data[(ts >= open_from) & (ts < int(to_us([instant])[0]))]
    return features_from_bins(state, np.concatenate(parts, axis=2), raw, [1, 2], instant)


def _same_bits(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert (a["machine_id"].to_numpy() == b["machine_id"].to_numpy()).all()
    x, y = a.iloc[:, 2:].to_numpy(np.float64), b.iloc[:, 2:].to_numpy(np.float64)
    assert np.array_equal(np.isnan(x), np.isnan(y))
    assert np.array_equal(x.view(np.int64)[~np.isnan(x)], y.view(np.int64)[~np.isnan(y)])


def test_bins_closed_one_at_a_time_give_the_bulk_features() -> None:
    data, ev, origins = plant_case._plant()
    definition = plant_case.DEF
    start, end = at(1440), at(3 * 1440 - 10)
    periods = baseline_periods(definition, ev, origins, [1, 2], start, end)
    baselines = baseline_stats(definition, data, plant_case.SENSORS, periods)
    bulk = compute_features(
        definition, data, sensors=plant_case.SENSORS, machine_ids=[1, 2], start=start,
        end=end, events=ev, origins=origins, baselines=baselines,
    )  # fmt: skip
    state = _state(
        definition, plant_case.SENSORS, {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2}, ev, baselines
    )
    n_lookback = 1440 // 10
    for minutes, n_closed in ((1440, n_lookback), (1850, n_lookback - 1), (2210, 0),
                              (2600, 37), (3 * 1440 - 10, n_lookback)):  # fmt: skip
        t = at(minutes)
        expected = bulk[bulk["ts"] == t].reset_index(drop=True)
        _same_bits(_bin_by_bin(state, data, t, n_closed), expected)


def test_bins_give_the_bulk_features_with_operating_regimes() -> None:
    data = regimes_case._plant()
    definition = regimes_case.BASE.with_regimes(regimes_case._fit(data[data["machine_id"] == 1]))
    ev = events([(1, 300, "maintenance"), (2, 610, "repair")])
    origins = {1: T0, 2: T0}
    start, end = at(240), at(1430)
    periods = baseline_periods(definition, ev, origins, [1, 2], start, end)
    baselines = baseline_stats(definition, data, regimes_case.SENSORS, periods)
    bulk = compute_features(
        definition, data, sensors=regimes_case.SENSORS, machine_ids=[1, 2], start=start,
        end=end, events=ev, origins=origins, baselines=baselines,
    )  # fmt: skip
    assert bulk["temp__dev_1h"].notna().sum() > 100
    state = _state(definition, regimes_case.SENSORS, {1: 1, 2: 1, 3: 2, 4: 2}, ev, baselines)
    for minutes, n_closed in ((240, 24), (550, 23), (620, 1), (1430, 24)):
        t = at(minutes)
        expected = bulk[bulk["ts"] == t].reset_index(drop=True)
        _same_bits(_bin_by_bin(state, data, t, n_closed), expected)


def test_an_empty_bin_is_what_a_bin_without_readings_reduces_to() -> None:
    data, ev, _ = plant_case._plant()
    state = _state(
        plant_case.DEF, plant_case.SENSORS, {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2}, ev,
        Baselines.empty(3),
    )  # fmt: skip
    first = int(to_us([at(5000)])[0])  # after the plant's last reading
    reduced = closed_bins(state, data, [1, 2], first_us=first, n_bins=2)
    assert reduced.shape == (len(BIN_FIELDS), 6, 2)
    assert np.array_equal(reduced, empty_bins(6, 2), equal_nan=True)


def test_bins_that_do_not_fit_the_look_back_are_refused() -> None:
    data, ev, _ = plant_case._plant()
    state = _state(
        plant_case.DEF, plant_case.SENSORS, {1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2}, ev,
        Baselines.empty(3),
    )  # fmt: skip
    with pytest.raises(ValueError, match="not \\(10, 6, bins\\)"):
        features_from_bins(state, empty_bins(3, 4), data, [1, 2], at(1440))
    with pytest.raises(ValueError, match="exceed"):
        features_from_bins(state, empty_bins(6, 145), data, [1, 2], at(1440))
    with pytest.raises(ValueError, match="grid"):
        features_from_bins(state, empty_bins(6, 4), data, [1, 2], at(1445))
    with pytest.raises(ValueError, match="grid"):
        closed_bins(state, data, [1, 2], first_us=int(to_us([at(5)])[0]), n_bins=1)
    assert timedelta(minutes=10) == plant_case.DEF.cadence
