"""PostgreSQL binary COPY for readings, encoded and decoded with numpy.

Readings have a fixed width in binary COPY (no NULLs), so a whole batch is one numpy
structured array: no per-row Python, which is what lets the writer keep up with COPY itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
PG_EPOCH_US = np.datetime64("2000-01-01T00:00:00", "us").astype(np.int64)

ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("ts_len", ">i4"),
        ("ts", ">i8"),
        ("machine_len", ">i4"),
        ("machine_id", ">i4"),
        ("sensor_len", ">i4"),
        ("sensor_id", ">i4"),
        ("value_len", ">i4"),
        ("value", ">f8"),
        ("quality_len", ">i4"),
        ("quality", ">i2"),
    ]
)


def encode_readings(
    ts: np.ndarray,
    machine_id: np.ndarray,
    sensor_id: np.ndarray,
    value: np.ndarray,
    quality: np.ndarray,
) -> bytes:
    """Binary COPY payload for columns (ts, machine_id, sensor_id, value, quality)."""
    rows = np.empty(len(value), dtype=ROW)
    rows["fields"] = 5
    rows["ts_len"] = 8
    rows["ts"] = ts.astype("datetime64[us]").astype(np.int64) - PG_EPOCH_US
    rows["machine_len"] = 4
    rows["machine_id"] = machine_id
    rows["sensor_len"] = 4
    rows["sensor_id"] = sensor_id
    rows["value_len"] = 8
    rows["value"] = value
    rows["quality_len"] = 2
    rows["quality"] = quality
    return HEADER + rows.tobytes() + TRAILER


def decode_fixed_rows(payload: bytes) -> pd.DataFrame:
    """Decode a binary COPY of (ts, machine_id, sensor_id, value, quality) rows."""
    columns = ["ts", "machine_id", "sensor_id", "value", "quality"]
    if len(payload) <= len(HEADER) + len(TRAILER):
        frame = pd.DataFrame({c: [] for c in columns})
        frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
        return frame.astype(
            {"machine_id": "int32", "sensor_id": "int32", "value": "float64", "quality": "int16"}
        )
    body = payload[len(HEADER) : -len(TRAILER)]
    rows = np.frombuffer(body, dtype=ROW)
    ts = (rows["ts"].astype(np.int64) + PG_EPOCH_US).astype("datetime64[us]")
    return pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(ts).tz_localize("UTC"),
            "machine_id": rows["machine_id"].astype(np.int32),
            "sensor_id": rows["sensor_id"].astype(np.int32),
            "value": rows["value"].astype(np.float64),
            "quality": rows["quality"].astype(np.int16),
        }
    )
