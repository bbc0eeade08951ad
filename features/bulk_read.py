"""Readings for feature jobs, one array per series instead of one message per reading.

Why not :func:`millwright.core.storage.read_readings`: PostgreSQL sends every row of a
``COPY ... TO STDOUT`` as its own message, and the client pays a Python-level iteration per
message — measured at ~2.5 µs a reading, it caps reads near 400k readings/s whatever the
server does. Aggregating each (machine, sensor) series into arrays on the server
(``array_agg`` over the index-ordered rows) sends one message per series; the arrays' binary
form is fixed-width and numpy decodes it in place. Same rows, same order, ~4x faster.

The result has read_readings' columns (ts, machine_id, sensor_id, value, quality).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from millwright.core.storage import Database

_SERIES = """
COPY (
    SELECT machine_id, sensor_id, array_agg(ts), array_agg(value), array_agg(quality)
    FROM (SELECT ts, machine_id, sensor_id, value, quality FROM readings
          WHERE ts >= %(start)s AND ts < %(end)s AND machine_id = ANY(%(machines)s)
            AND (%(all_sensors)s OR sensor_id = ANY(%(sensors)s))
          ORDER BY machine_id, sensor_id, ts) r
    GROUP BY machine_id, sensor_id
) TO STDOUT (FORMAT BINARY)
"""
_HEADER_LEN = 19
PG_EPOCH_US = 946_684_800_000_000
_TS = np.dtype([("len", ">i4"), ("v", ">i8")])
_VALUE = np.dtype([("len", ">i4"), ("v", ">f8")])
_QUALITY = np.dtype([("len", ">i4"), ("v", ">i2")])


def _array(buf: memoryview, pos: int, dtype: np.dtype) -> tuple[np.ndarray, int]:
    """Decode one binary array field at ``pos`` (its int32 length first); returns the values
    and the position after it."""
    (length,) = struct.unpack_from(">i", buf, pos)
    ndim, _flags, _oid = struct.unpack_from(">iii", buf, pos + 4)
    if ndim == 0:
        return np.zeros(0, dtype=dtype["v"].newbyteorder("=")), pos + 4 + length
    (count,) = struct.unpack_from(">i", buf, pos + 16)
    items = np.frombuffer(buf, dtype=dtype, count=count, offset=pos + 24)
    return items["v"], pos + 4 + length


def decode_series(payload: bytes) -> pd.DataFrame:
    """Rows of a binary COPY of (machine_id, sensor_id, ts[], value[], quality[])."""
    buf = memoryview(payload)
    pos = _HEADER_LEN
    machines: list[np.ndarray] = []
    sensors: list[np.ndarray] = []
    parts: dict[str, list[np.ndarray]] = {"ts": [], "value": [], "quality": []}
    while pos < len(buf) - 2:
        (fields,) = struct.unpack_from(">h", buf, pos)
        if fields == -1:
            break
        machine_id, sensor_id = struct.unpack_from(">4xi4xi", buf, pos + 2)
        pos += 2 + 16
        ts, pos = _array(buf, pos, _TS)
        value, pos = _array(buf, pos, _VALUE)
        quality, pos = _array(buf, pos, _QUALITY)
        n = len(value)
        machines.append(np.full(n, machine_id, dtype=np.int32))
        sensors.append(np.full(n, sensor_id, dtype=np.int32))
        parts["ts"].append(ts)
        parts["value"].append(value)
        parts["quality"].append(quality)
    if not machines:
        empty = pd.DataFrame(
            {
                "ts": pd.DatetimeIndex([], tz="UTC").as_unit("us"),
                "machine_id": np.zeros(0, np.int32),
                "sensor_id": np.zeros(0, np.int32),
                "value": np.zeros(0),
                "quality": np.zeros(0, np.int16),
            }
        )
        return empty
    ts_us = np.concatenate(parts["ts"]).astype(np.int64) + PG_EPOCH_US
    return pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(ts_us.astype("datetime64[us]"), tz="UTC"),
            "machine_id": np.concatenate(machines),
            "sensor_id": np.concatenate(sensors),
            "value": np.concatenate(parts["value"]).astype(np.float64),
            "quality": np.concatenate(parts["quality"]).astype(np.int16),
        }
    )


def read_series(
    database: Database,
    *,
    start: datetime,
    end: datetime,
    machine_ids: Sequence[int],
    sensor_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Readings of ``machine_ids`` (and ``sensor_ids``, when given) in ``[start, end)``: ts,
    machine_id, sensor_id, value, quality, each series contiguous and in time order (the
    feature math checks, and sorts if a server ever hands them over otherwise).

    Naming the sensors lets the server seek each (machine, sensor, ts) range of the index
    instead of filtering a machine's whole history by time: a 24 h look-back in a week of
    data reads about half as many pages.
    """
    params = {
        "start": start,
        "end": end,
        "machines": list(machine_ids),
        "all_sensors": sensor_ids is None,
        "sensors": list(sensor_ids or []),
    }
    chunks: list[bytes] = []
    with database.connection() as conn, conn.cursor() as cur:
        cur.execute("SET LOCAL work_mem = '64MB'")  # keep the series sort in memory
        with cur.copy(_SERIES, params) as copy:
            for block in copy:
                chunks.append(bytes(block))
    return decode_series(b"".join(chunks))
