"""Small builders for feature tests: readings frames, sensor maps, events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

T0 = datetime(2024, 3, 1, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=float(minutes))


def readings(
    machine_id: int,
    sensor_id: int,
    minutes: Sequence[float] | npt.NDArray[np.number[Any]],
    values: Sequence[float] | npt.NDArray[np.number[Any]],
    quality: int = 0,
) -> pd.DataFrame:
    """One series: readings at T0 + minutes."""
    return pd.DataFrame(
        {
            "ts": pd.DatetimeIndex([at(m) for m in minutes]).as_unit("us"),
            "machine_id": np.full(len(minutes), machine_id, dtype=np.int32),
            "sensor_id": np.full(len(minutes), sensor_id, dtype=np.int32),
            "value": np.asarray(values, dtype=np.float64),
            "quality": np.full(len(minutes), quality, dtype=np.int16),
        }
    )


def combine(*frames: pd.DataFrame) -> pd.DataFrame:
    """Frames in storage order (machine, sensor, ts)."""
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values(["machine_id", "sensor_id", "ts"], kind="stable").reset_index(
        drop=True
    )


def sensor_map(pairs: dict[int, str]) -> pd.DataFrame:
    return pd.DataFrame({"sensor_id": list(pairs), "sensor": list(pairs.values())})


def events(
    rows: Sequence[tuple[int, float, str]], ends: dict[int, float] | None = None
) -> pd.DataFrame:
    """(machine_id, minutes, kind) rows; ``ends`` maps a row index to its ends_at minutes."""
    ends = ends or {}
    return pd.DataFrame(
        {
            "machine_id": [r[0] for r in rows],
            "ts": pd.DatetimeIndex([at(r[1]) for r in rows]).as_unit("us"),
            "kind": [r[2] for r in rows],
            "ends_at": pd.DatetimeIndex(
                [at(ends[i]) if i in ends else pd.NaT for i in range(len(rows))], tz="UTC"
            ).as_unit("us"),
        }
    )
