"""``millwright bench ingest``: the bulk writer against raw binary COPY, same rows, same index.

On TimescaleDB the bench table is a hypertable laid out like ``readings`` (same chunk
interval, columnstore segment-by and order-by), so the figures are those of the real path.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from millwright.core.storage.copy_binary import encode_readings
from millwright.core.storage.database import Database
from millwright.core.storage.readings import ReadingColumns, ReadingsWriter
from millwright.core.storage.timescale import (
    TimescalePolicy,
    bench_hypertable_statements,
    timescale_version,
)

BATCH = 50_000


def synthetic_columns(rows: int, machines: int = 50, sensors: int = 20) -> ReadingColumns:
    """``rows`` readings spread over machines × sensors at one-second steps, ending now."""
    per_series = -(-rows // (machines * sensors))
    start = np.datetime64(
        (datetime.now(UTC) - timedelta(hours=2) - timedelta(seconds=per_series)).replace(
            tzinfo=None
        ),
        "us",
    )
    idx = np.arange(rows)
    series = idx % (machines * sensors)
    step = idx // (machines * sensors)
    rng = np.random.default_rng(7)
    return ReadingColumns(
        machine=np.array([f"bench-m{m:03d}" for m in range(machines)], dtype=object)[
            series // sensors
        ],
        sensor=np.array([f"s{s:02d}" for s in range(sensors)], dtype=object)[series % sensors],
        ts=start + step.astype("timedelta64[s]"),
        value=rng.normal(100.0, 5.0, rows),
        quality=np.zeros(rows, dtype=np.int16),
        naive=np.zeros(rows, dtype=bool),
    )


def _reset_table(database: Database, policy: TimescalePolicy | None = None) -> bool:
    """A fresh bench table; a hypertable when TimescaleDB is active. Returns which."""
    policy = policy or TimescalePolicy()
    version = timescale_version(database) if database.timescale else None
    with database.connection() as conn:
        conn.execute("DROP TABLE IF EXISTS bench_readings")
        conn.execute("CREATE TABLE bench_readings (LIKE readings INCLUDING DEFAULTS)")
        conn.execute("CREATE UNIQUE INDEX ON bench_readings (machine_id, sensor_id, ts)")
        if version is not None:
            for statement in bench_hypertable_statements("bench_readings", policy, version):
                conn.execute(statement)
    return version is not None


def _batches(columns: ReadingColumns) -> list[ReadingColumns]:
    out = []
    for start in range(0, len(columns), BATCH):
        sl = slice(start, start + BATCH)
        out.append(
            ReadingColumns(
                columns.machine[sl],
                columns.sensor[sl],
                columns.ts[sl],
                columns.value[sl],
                columns.quality[sl],
                None if columns.naive is None else columns.naive[sl],
            )
        )
    return out


def run_ingest_benchmark(
    database: Database, *, rows: int = 1_000_000, policy: TimescalePolicy | None = None
) -> dict[str, Any]:
    """Write ``rows`` through the writer, then raw-COPY the same rows; report both rates."""
    policy = policy or TimescalePolicy()
    columns = synthetic_columns(rows)
    batches = _batches(columns)

    hypertable = _reset_table(database, policy)
    writer = ReadingsWriter(database, table="bench_readings")
    writer.sources.ids(list({(m, s) for m, s in zip(columns.machine, columns.sensor, strict=True)}))
    started = time.perf_counter()
    inserted = sum(writer.write(batch).inserted for batch in batches)
    writer_s = time.perf_counter() - started

    started = time.perf_counter()
    resent = sum(writer.write(batch).inserted for batch in batches)
    resend_s = time.perf_counter() - started

    # Baseline: the same rows, ids already resolved, binary COPY straight into a fresh
    # table with the same unique index.
    ids = writer.sources.ids(
        list({(m, s) for m, s in zip(columns.machine, columns.sensor, strict=True)})
    )
    machine_ids = np.array(
        [ids[(m, s)][0] for m, s in zip(columns.machine, columns.sensor, strict=True)],
        dtype=np.int32,
    )
    sensor_ids = np.array(
        [ids[(m, s)][1] for m, s in zip(columns.machine, columns.sensor, strict=True)],
        dtype=np.int32,
    )
    payloads = [
        encode_readings(
            columns.ts[i : i + BATCH],
            machine_ids[i : i + BATCH],
            sensor_ids[i : i + BATCH],
            columns.value[i : i + BATCH],
            columns.quality[i : i + BATCH],
        )
        for i in range(0, rows, BATCH)
    ]
    _reset_table(database, policy)
    started = time.perf_counter()
    for payload in payloads:
        with (
            database.connection() as conn,
            conn.cursor() as cur,
            cur.copy(
                "COPY bench_readings (ts, machine_id, sensor_id, value, quality)"
                " FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            copy.write(payload)
    copy_s = time.perf_counter() - started
    with database.connection() as conn:
        conn.execute("DROP TABLE IF EXISTS bench_readings")
        conn.execute("DELETE FROM machines WHERE name LIKE 'bench-m%'")

    writer_rate = rows / writer_s
    copy_rate = rows / copy_s
    return {
        "rows": rows,
        "hypertable": hypertable,
        "direct_copies": writer.direct_copies,
        "staged_copies": writer.staged_copies,
        "unexpected_conflicts": writer.unexpected_conflicts,
        "inserted": inserted,
        "resend_inserted": resent,
        "writer_rows_per_s": round(writer_rate),
        "copy_rows_per_s": round(copy_rate),
        "ratio": round(writer_rate / copy_rate, 3),
        "resend_rows_per_s": round(rows / resend_s),
        "resend_seconds": round(resend_s, 3),
    }
