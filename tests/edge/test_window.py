"""The edge's reading window: open bins raw, closed bins reduced, the features of the bulk path.

Rows arrive as MQTT delivers them (in time order across sensors, a redelivery, a late sample
inside its open bin, one after its bin closed, an unknown sensor); every instant scored from
the window's closed bins equals, bit for bit, the features of the same readings in bulk.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from edge.window import ReadingWindow
from features import FeatureState, empty_bins, features_at
from features.baselines import Baselines
from features.definitions import FeatureDefinition

MIN = 60_000_000
DEF = FeatureDefinition(sensors=("temp", "vib"), windows_minutes=(10, 30), cadence_minutes=10)
NAMES = {("press-1", "vib"): (1, 11), ("press-1", "temp"): (1, 12), ("press-2", "vib"): (2, 21)}


def _state() -> FeatureState:
    sensors = pd.DataFrame(
        {"sensor_id": [11, 12, 21], "machine_id": [1, 1, 2], "sensor": ["vib", "temp", "vib"]}
    )
    events = pd.DataFrame(
        {
            "machine_id": np.zeros(0, np.int64),
            "ts": pd.DatetimeIndex([], tz="UTC").as_unit("us"),
            "kind": pd.Series([], dtype=object),
            "ends_at": pd.DatetimeIndex([], tz="UTC").as_unit("us"),
        }
    )
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    return FeatureState(DEF, sensors, events, {1: t0, 2: t0}, Baselines.empty(2))


def _stream(seed: int = 5) -> list[tuple[str, str, int, float, int]]:
    """Two hours, irregular 5–50 s sampling, machine 2 silent for 25 minutes, a BAD sample."""
    rng = np.random.default_rng(seed)
    rows = []
    for (machine, sensor), _ in NAMES.items():
        t = 0.0
        while t < 120 * 60:
            t += float(rng.uniform(5, 50))
            if machine == "press-2" and 40 * 60 < t < 65 * 60:
                continue
            quality = 2 if rng.uniform() < 0.02 else 0
            rows.append((machine, sensor, int(t * 1e6), float(rng.normal(50, 3)), quality))
    return sorted(rows, key=lambda r: r[2])


def _bulk(rows: list[tuple[str, str, int, float, int]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["machine", "sensor", "ts", "value", "quality"])
    ids = frame.apply(lambda r: NAMES[(r["machine"], r["sensor"])], axis=1, result_type="expand")
    return pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(frame["ts"].to_numpy().astype("datetime64[us]"), tz="UTC"),
            "machine_id": ids[0].to_numpy(np.int64),
            "sensor_id": ids[1].to_numpy(np.int64),
            "value": frame["value"].to_numpy(np.float64),
            "quality": frame["quality"].to_numpy(np.int16),
        }
    ).sort_values(["machine_id", "sensor_id", "ts"], kind="stable")


def test_features_from_the_window_equal_the_bulk_features() -> None:
    state = _state()
    window = ReadingWindow(NAMES, state, grace_us=2 * MIN)
    rows = _stream()
    checked = 0
    for k in range(0, len(rows), 7):  # MQTT batches
        batch = rows[k : k + 7]
        window.add(batch)
        window.add(batch[:1])  # a redelivery
        due = (window.watermark_us or 0) - 2 * MIN
        instant_us = due - due % (10 * MIN)
        if instant_us >= 30 * MIN and instant_us % (30 * MIN) == 0:
            window.close_until(instant_us)
            instant = datetime.fromtimestamp(instant_us / 1e6, UTC)
            got = features_at(state, _bulk(rows[: k + 7]), [1, 2], instant)
            from_bins = _features(window, state, instant_us)
            a, b = got.iloc[:, 2:].to_numpy(), from_bins.iloc[:, 2:].to_numpy()
            assert np.array_equal(np.isnan(a), np.isnan(b))
            assert np.array_equal(a.view(np.int64)[~np.isnan(a)], b.view(np.int64)[~np.isnan(b)])
            checked += 1
    assert checked >= 3
    assert window.duplicates >= len(rows) // 7 and window.late == 0
    # only the open bins are raw: at most the grace and the bin it runs into
    assert 0 < window.samples() <= 3 * 12 * 60 // 5
    assert window.bins_held() == 3


def _features(window: ReadingWindow, state: FeatureState, instant_us: int) -> pd.DataFrame:
    from features import features_from_bins

    instant = datetime.fromtimestamp(instant_us / 1e6, UTC)
    closed = window.bins([1, 2], instant_us)
    return features_from_bins(state, closed, window.frame([], 0, 0), [1, 2], instant)


def test_redelivered_late_and_unknown_readings() -> None:
    window = ReadingWindow(NAMES, _state())
    rows = [("press-1", "vib", 5 * MIN, 5.0, 0), ("press-1", "vib", 3 * MIN, 3.0, 0),
            ("press-1", "vib", 5 * MIN, 5.0, 0), ("press-9", "vib", 4 * MIN, 4.0, 0),
            ("press-2", "vib", 4 * MIN, 4.0, 2)]  # fmt: skip
    assert window.add(rows) == 3
    assert (window.duplicates, window.unknown, window.late) == (1, 1, 0)
    frame = window.frame([1, 2], 0, 10 * MIN)
    assert list(zip(frame["sensor_id"], frame["value"], strict=True)) == [
        (11, 3.0), (11, 5.0), (21, 4.0)
    ]  # fmt: skip
    assert frame["quality"].tolist() == [0, 0, 2]
    assert window.machines_with_data(4 * MIN, 5 * MIN) == [2]
    # the watermark passes the bin's end: it closes, its samples go, a later one is late
    assert window.add([("press-1", "vib", 10 * MIN, 1.0, 0)]) == 1
    assert window.samples() == 1 and window.bins_held() == 1
    assert window.machines_with_data(0, 10 * MIN) == [1, 2]  # from the closed bin's counts
    assert window.add([("press-1", "temp", 9 * MIN, 9.0, 0)]) == 0 and window.late == 1
    closed = window.bins([2], 10 * MIN)
    assert closed.shape == (10, 2, 3)
    assert np.array_equal(closed[:, :, :2], empty_bins(2, 2), equal_nan=True)
    # press-2 sent one sample (it has data) whose BAD quality the features drop (n = 0)
    assert closed[0, 1, 2] == 0.0
    with pytest.raises(ValueError, match="once its bins closed"):
        window.bins([1], 20 * MIN)


def test_priming_from_the_centre_is_not_late_before_anything_closed() -> None:
    window = ReadingWindow(NAMES, _state())
    window.add([("press-1", "vib", 25 * MIN, 1.0, 0)])  # a live row before the read-back
    back = pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(
                np.array([2 * MIN, 12 * MIN]).astype("datetime64[us]"), tz="UTC"
            ),
            "machine_id": [1, 1],
            "sensor_id": [12, 12],
            "value": [1.0, 2.0],
            "quality": [0, 0],
        }
    )
    assert window.prime(back) == 2 and window.late == 0
    window.close_until(20 * MIN)
    assert window.bins_held() == 2 and window.machines_with_data(0, 20 * MIN) == [1]


def test_a_window_takes_only_a_state_it_fits() -> None:
    state = _state()
    window = ReadingWindow(NAMES, state)
    assert window.fits(state)
    other = FeatureState(
        FeatureDefinition(sensors=("temp",), windows_minutes=(10,)), state.sensors,
        state.events, state.origins, Baselines.empty(1),
    )  # fmt: skip
    assert not window.fits(other)
    with pytest.raises(ValueError, match="its own definition"):
        window.relabel(NAMES, other)
    with pytest.raises(ValueError, match="at least 0"):
        ReadingWindow(NAMES, state, grace_us=-1)
