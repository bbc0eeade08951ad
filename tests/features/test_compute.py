"""Feature math on small series with hand-computed answers, irregular sampling and gaps."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from features.baselines import baseline_periods, baseline_stats
from features.compute import ceil_to_grid, compute_features, floor_to_grid, grid_instants
from features.definitions import FeatureDefinition
from tests.features.helpers import T0, at, combine, events, readings, sensor_map

D = FeatureDefinition(
    sensors=("a", "b"), windows_minutes=(10, 20), cadence_minutes=10, ewma_halflife_minutes=10
)
SENSORS = sensor_map({1: "a", 2: "b", 99: "other"})


def _frame(data: pd.DataFrame, start: float, end: float) -> pd.DataFrame:
    return compute_features(D, data, sensors=SENSORS, machine_ids=[7], start=at(start), end=at(end))


def _data() -> pd.DataFrame:
    return combine(
        readings(7, 1, [1, 5, 12, 19, 20], [1, 3, 2, 6, 100]),
        readings(7, 1, [3], [1000], quality=2),  # BAD quality: ignored
        readings(7, 99, [4], [5000]),  # a sensor outside the definition: ignored
    )


def test_hand_computed_window_statistics() -> None:
    row = _frame(_data(), 20, 20).iloc[0]
    assert row["ts"] == at(20)
    # window [0, 20): 1, 3, 2, 6 at minutes 1, 5, 12, 19 (the reading stamped 20 is next)
    assert row["a__count_20m"] == 4
    assert row["a__mean_20m"] == pytest.approx(3.0)
    assert row["a__std_20m"] == pytest.approx(math.sqrt(14 / 3))
    assert (row["a__min_20m"], row["a__max_20m"]) == (1.0, 6.0)
    assert row["a__slope_20m"] == pytest.approx(43 / 188.75 * 60)  # units per hour
    # EWMA, half-life one bin: newest bin (2, 6) weight 1, older bin (1, 3) weight 0.5
    assert row["a__ewma_20m"] == pytest.approx((8 + 0.5 * 4) / (2 + 0.5 * 2))
    # window [10, 20): 2 and 6
    assert row["a__count_10m"] == 2
    assert row["a__mean_10m"] == pytest.approx(4.0)
    assert row["a__slope_10m"] == pytest.approx(4 / 7 * 60)
    assert row["a__last"] == 6.0
    assert row["a__last_age_h"] == pytest.approx(1 / 60)
    # no baseline yet (first reading at minute 1, baseline needs 24 h)
    assert math.isnan(row["a__dev_20m"])


def test_empty_windows_and_silent_sensors_are_nan_with_zero_count() -> None:
    row = _frame(_data(), 30, 30).iloc[0]
    assert row["a__count_20m"] == 3  # 2, 6, 100
    assert row["a__count_10m"] == 1  # 100 only
    assert row["a__mean_10m"] == 100.0
    assert math.isnan(row["a__std_10m"]) and math.isnan(row["a__slope_10m"])
    assert row["a__last"] == 100.0 and row["a__last_age_h"] == pytest.approx(10 / 60)
    later = _frame(_data(), 50, 50).iloc[0]
    assert later["a__count_20m"] == 0
    for stat in ("mean", "std", "min", "max", "slope", "ewma"):
        assert math.isnan(later[f"a__{stat}_20m"]), stat
    assert math.isnan(later["a__last"])  # nothing in the longest window
    sensor_b = [c for c in later.index if c.startswith("b__") and "count" not in c]
    assert later[sensor_b].isna().all()
    assert (later[[c for c in later.index if c.startswith("b__count")]] == 0).all()


def test_grid_helpers_and_off_grid_instants() -> None:
    cadence = D.cadence
    assert floor_to_grid(at(17), cadence) == at(10)
    assert ceil_to_grid(at(17), cadence) == at(20)
    assert ceil_to_grid(at(20), cadence) == at(20)
    assert list(grid_instants(at(5), at(31), cadence)) == [at(10), at(20), at(30)]
    with pytest.raises(ValueError, match="not on the 10-minute grid"):
        _frame(_data(), 15, 30)
    with pytest.raises(ValueError, match="before start"):
        _frame(_data(), 30, 20)


def _brute_force(
    data: pd.DataFrame, t: pd.Timestamp, minutes: int, halflife: float
) -> dict[str, float]:
    lo = t - pd.Timedelta(minutes=minutes)
    w = data[(data["ts"] >= lo) & (data["ts"] < t)]
    v = w["value"].to_numpy()
    hours = ((w["ts"] - t).dt.total_seconds() / 3600).to_numpy()
    out = {"count": float(len(v))}
    out["mean"] = v.mean() if len(v) else np.nan
    out["std"] = v.std(ddof=1) if len(v) > 1 else np.nan
    out["min"] = v.min() if len(v) else np.nan
    out["max"] = v.max() if len(v) else np.nan
    out["slope"] = np.polyfit(hours, v, 1)[0] if len(np.unique(hours)) > 1 else np.nan
    back = np.ceil(-hours * 60 / 10) - 1  # bins back from t, 10-minute cadence
    weights = 0.5 ** (back * 10 / halflife)
    out["ewma"] = (weights * v).sum() / weights.sum() if len(v) else np.nan
    return out


def test_irregular_sampling_with_gaps_matches_brute_force() -> None:
    rng = np.random.default_rng(3)
    minutes = np.sort(rng.choice(np.arange(0, 600 * 60) / 60, size=400, replace=False))
    minutes = minutes[(minutes < 200) | (minutes > 320)]  # a two-hour outage
    values = np.cumsum(rng.normal(0, 1, len(minutes))) + 50
    data = readings(7, 1, minutes, values)
    definition = FeatureDefinition(
        sensors=("a",), windows_minutes=(30, 60, 180), cadence_minutes=10, ewma_halflife_minutes=25
    )
    frame = compute_features(
        definition, data, sensors=SENSORS, machine_ids=[7], start=at(180), end=at(590)
    )
    checked = 0
    for _, row in frame.iterrows():
        for w, label in ((30, "30m"), (60, "1h"), (180, "3h")):
            expected = _brute_force(data, row["ts"], w, 25)
            for stat, value in expected.items():
                got = row[f"a__{stat}_{label}"]
                if np.isnan(value):
                    assert np.isnan(got), (row["ts"], stat, label)
                else:
                    assert got == pytest.approx(value, rel=1e-9, abs=1e-9), (row["ts"], stat, label)
                    checked += 1
    assert checked > 500
    outage = frame[frame["ts"] == at(300)].iloc[0]
    assert outage["a__count_1h"] == 0 and math.isnan(outage["a__mean_1h"])


def test_event_features() -> None:
    definition = FeatureDefinition(sensors=("a",), windows_minutes=(60,), cadence_minutes=10)
    ev = events(
        [
            (7, 100, "maintenance"),
            (7, 110, "error"),
            (7, 115, "error"),
            (7, 200, "error"),
            (7, 300, "failure"),
            (7, 400, "repair"),
            (7, 500, "offline"),
        ],
        ends={6: 520},
    )
    frame = compute_features(
        definition,
        readings(7, 1, [0], [1.0]),
        sensors=SENSORS,
        machine_ids=[7],
        start=at(60),
        end=at(600),
        events=ev,
        origins={7: T0},
    ).set_index("ts")
    row = frame.loc[at(120)]
    assert row["hours_since_maintenance"] == pytest.approx(20 / 60)
    assert row["operating_hours_since_repair"] == pytest.approx(2.0)  # since first reading
    assert row["error_count_1h"] == 2
    row = frame.loc[at(360)]
    assert row["hours_since_maintenance"] == pytest.approx(260 / 60)
    assert row["operating_hours_since_repair"] == pytest.approx(5.0)  # 6 h minus 1 h failed
    assert row["error_count_1h"] == 0
    row = frame.loc[at(600)]
    assert row["hours_since_maintenance"] == pytest.approx(200 / 60)  # the repair resets it
    assert row["operating_hours_since_repair"] == pytest.approx(3.0)  # minus 20 min offline
    assert math.isnan(frame.loc[at(60), "hours_since_maintenance"])


def test_deviation_from_the_healthy_baseline() -> None:
    definition = FeatureDefinition(
        sensors=("a",), windows_minutes=(10,), cadence_minutes=10, baseline_hours=1
    )
    minutes = np.arange(0, 300)
    values = np.where(minutes < 60, np.where(minutes % 2 == 0, 9.0, 11.0), 13.0)
    data = readings(7, 1, minutes, values)
    ev = events([(7, 130, "maintenance")])
    origins = {7: T0}
    periods = baseline_periods(definition, ev, origins, [7], at(10), at(290))
    assert list(periods["start"]) == [at(0), at(130)]
    baselines = baseline_stats(definition, data, SENSORS, periods)
    assert baselines.mean[0, 0] == pytest.approx(10.0)
    assert baselines.std[0, 0] == pytest.approx(math.sqrt(60 / 59))
    frame = compute_features(
        definition,
        data,
        sensors=SENSORS,
        machine_ids=[7],
        start=at(10),
        end=at(290),
        events=ev,
        origins=origins,
        baselines=baselines,
    ).set_index("ts")
    assert math.isnan(frame.loc[at(50), "a__dev_10m"])  # baseline hour not over yet
    assert frame.loc[at(120), "a__dev_10m"] == pytest.approx(3 / math.sqrt(60 / 59))
    assert math.isnan(frame.loc[at(140), "a__dev_10m"])  # a new baseline after maintenance
    assert math.isnan(frame.loc[at(200), "a__dev_10m"])  # its std is 0: undefined


def test_dev_rms_is_the_machine_wide_deviation_over_the_sensors_that_have_one() -> None:
    definition = FeatureDefinition(
        sensors=("a", "b", "c"), windows_minutes=(10,), cadence_minutes=10, baseline_hours=1
    )
    minutes = np.arange(0, 120)
    healthy = np.where(minutes % 2 == 0, 9.0, 11.0)  # baseline mean 10, std sqrt(60/59)
    data = combine(
        readings(7, 1, minutes, np.where(minutes < 60, healthy, 13.0)),  # +3 / std
        readings(7, 2, minutes, np.where(minutes < 60, healthy, 6.0)),  # -4 / std
        readings(7, 3, minutes[minutes < 60], healthy[minutes < 60]),  # silent after an hour
    )
    names = sensor_map({1: "a", 2: "b", 3: "c"})
    origins = {7: T0}
    periods = baseline_periods(definition, None, origins, [7], at(60), at(110))
    baselines = baseline_stats(definition, data, names, periods)
    frame = compute_features(
        definition,
        data,
        sensors=names,
        machine_ids=[7],
        start=at(50),
        end=at(110),
        origins=origins,
        baselines=baselines,
    ).set_index("ts")
    std = math.sqrt(60 / 59)
    assert math.isnan(frame.loc[at(50), "dev_rms_10m"])  # no baseline yet
    # c is silent: the mean over a and b of dev^2 = ((3 / std)^2 + (4 / std)^2) / 2
    assert frame.loc[at(110), "dev_rms_10m"] == pytest.approx(math.sqrt(12.5) / std)
    # its rate: per hour since the baseline's middle (the first reading + 30 min)
    assert math.isnan(frame.loc[at(50), "dev_rms_rate_10m"])
    assert frame.loc[at(110), "dev_rms_rate_10m"] == pytest.approx(
        math.sqrt(12.5) / std / ((110 - 30) / 60)
    )
