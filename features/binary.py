"""Binary COPY of feature rows (ts, machine_id, version, float8[]), numpy-encoded.

Every row of one version has the same number of features and no NULL elements (NaN stands
for "undefined"), so a batch is one fixed-width numpy structured array in both directions: no
per-row Python, no text formatting of half a million floats.
"""

from __future__ import annotations

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in µs since 1970
FLOAT8_OID = 701


def _array_dtype(n_values: int) -> list[tuple[str, str] | tuple[str, object, tuple[int]]]:
    return [
        ("array_len", ">i4"),
        ("ndim", ">i4"),
        ("has_null", ">i4"),
        ("elem_oid", ">i4"),
        ("dim", ">i4"),
        ("lower", ">i4"),
        ("items", np.dtype([("len", ">i4"), ("value", ">f8")]), (n_values,)),
    ]


def _write_dtype(n_values: int, version_bytes: int) -> np.dtype:
    return np.dtype(
        [
            ("fields", ">i2"),
            ("ts_len", ">i4"),
            ("ts", ">i8"),
            ("machine_len", ">i4"),
            ("machine_id", ">i4"),
            ("version_len", ">i4"),
            ("version", f"S{version_bytes}"),
            *_array_dtype(n_values),
        ]
    )


def _read_dtype(n_values: int) -> np.dtype:
    return np.dtype(
        [
            ("fields", ">i2"),
            ("machine_len", ">i4"),
            ("machine_id", ">i4"),
            ("ts_len", ">i4"),
            ("ts", ">i8"),
            *_array_dtype(n_values),
        ]
    )


def encode_rows(
    ts_us: np.ndarray, machine_id: np.ndarray, version: str, values: np.ndarray
) -> bytes:
    """COPY payload for columns (ts, machine_id, version, "values"); ``values`` is
    (rows, features)."""
    n_rows, n_values = values.shape
    encoded = version.encode()
    rows = np.empty(n_rows, dtype=_write_dtype(n_values, len(encoded)))
    rows["fields"] = 4
    rows["ts_len"] = 8
    rows["ts"] = ts_us - PG_EPOCH_US
    rows["machine_len"] = 4
    rows["machine_id"] = machine_id
    rows["version_len"] = len(encoded)
    rows["version"] = encoded
    rows["array_len"] = 20 + 12 * n_values
    rows["ndim"] = 1
    rows["has_null"] = 0
    rows["elem_oid"] = FLOAT8_OID
    rows["dim"] = n_values
    rows["lower"] = 1
    rows["items"]["len"] = 8
    rows["items"]["value"] = values
    return HEADER + rows.tobytes() + TRAILER


def decode_rows(payload: bytes, n_values: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(machine_id, ts µs, values) from a COPY of (machine_id, ts, "values") rows.

    Raises ValueError when a row does not have ``n_values`` non-NULL floats (a row written by
    hand with NULLs or another length), naming what was found.
    """
    dtype = _read_dtype(n_values)
    body = payload[len(HEADER) : -len(TRAILER)] if len(payload) > len(HEADER) else b""
    if len(body) % dtype.itemsize:
        raise ValueError(
            f"feature rows are not all {n_values} non-NULL float8 values; "
            "was a row written outside the feature store?"
        )
    rows = np.frombuffer(body, dtype=dtype)
    if len(rows) and (
        np.any(rows["dim"] != n_values)
        or np.any(rows["has_null"] != 0)
        or np.any(rows["ndim"] != 1)
    ):
        raise ValueError(f"feature rows must hold exactly {n_values} non-NULL values each.")
    values = rows["items"]["value"].astype(np.float64)
    return (
        rows["machine_id"].astype(np.int64),
        rows["ts"].astype(np.int64) + PG_EPOCH_US,
        values.reshape(len(rows), n_values),
    )
