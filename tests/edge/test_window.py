"""The edge's bounded reading windows: what is kept, for how long, in which order."""

from __future__ import annotations

import pandas as pd
import pytest

from edge.window import ReadingWindow

MIN = 60_000_000


def _window(span_minutes: int = 10) -> ReadingWindow:
    return ReadingWindow({("press-1", "vib"): (1, 11), ("press-1", "temp"): (1, 12),
                          ("press-2", "vib"): (2, 21)}, span_minutes * MIN)  # fmt: skip


def test_only_the_span_behind_the_watermark_is_kept() -> None:
    window = _window()
    assert window.add(("press-1", "vib", i * MIN, float(i), 0) for i in range(30)) == 30
    assert window.watermark_us == 29 * MIN
    assert window.samples() == 11  # minutes 19..29: older ones dropped as the watermark moved
    frame = window.frame([1], 0, 30 * MIN)
    assert frame["value"].tolist() == [float(i) for i in range(19, 30)]
    assert frame.columns.tolist() == ["ts", "machine_id", "sensor_id", "value", "quality"]
    assert frame["ts"].iloc[0] == pd.Timestamp(19 * MIN, unit="us", tz="UTC")


def test_redelivered_late_and_unknown_readings() -> None:
    window = _window()
    rows = [("press-1", "vib", 5 * MIN, 5.0, 0), ("press-1", "vib", 3 * MIN, 3.0, 0),
            ("press-1", "vib", 5 * MIN, 5.0, 0), ("press-9", "vib", 4 * MIN, 4.0, 0),
            ("press-2", "vib", 4 * MIN, 4.0, 2)]  # fmt: skip
    assert window.add(rows) == 3
    assert (window.duplicates, window.unknown) == (1, 1)
    frame = window.frame([1, 2], 0, 10 * MIN)
    assert list(zip(frame["sensor_id"], frame["value"], strict=True)) == [
        (11, 3.0), (11, 5.0), (21, 4.0)
    ]  # fmt: skip
    assert frame["quality"].tolist() == [0, 0, 2]
    assert window.machines_with_data(4 * MIN, 5 * MIN) == [2]
    assert window.frame([3], 0, 10 * MIN).empty


def test_a_window_must_span_time() -> None:
    with pytest.raises(ValueError, match="positive time"):
        ReadingWindow({}, 0)
