"""``millwright bench features``: backfill and incremental runs against reading the same rows.

The benchmark works in a scratch database on the configured server (created and dropped
here), so it never mixes synthetic machines into a real plant. It writes machines × sensors ×
days of 1-minute readings with the ordinary ReadingsWriter, plus a few maintenance, failure,
repair and error events, then measures in the same run:

- the backfill of every instant, end to end (read, compute, store), in readings per second,
  against reading the same rows out with the same chunking and doing nothing else;
- an incremental run after 10 new plant minutes, against reading the rows it reads;
- that a second incremental run writes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from features.bulk_read import read_series
from features.compute import floor_to_grid
from features.config import FeaturesConfig
from features.inputs import machine_ids, read_sensors
from features.jobs import FeatureJob
from millwright.core.storage import Database, ReadingColumns, ReadingsWriter, read_readings
from millwright.core.storage.scratch import scratch_database

log = logging.getLogger(__name__)

BATCH_ROWS = 250_000
TARGET_BACKFILL_READINGS_PER_S = 500_000
TARGET_INCREMENTAL_S = 2.0


def synthetic_readings(
    machines: int,
    sensors: int,
    start: datetime,
    minutes: int,
    *,
    first_machine: int = 0,
    seed: int = 7,
) -> ReadingColumns:
    """1-minute readings of ``machines`` × ``sensors`` from ``start``: a daily cycle, a slow
    machine-specific drift and noise — so windows, slopes and baselines have work to do."""
    rng = np.random.default_rng(seed + first_machine)
    offsets = np.arange(minutes, dtype=np.int64)
    per_machine = sensors * minutes
    n = machines * per_machine
    m = np.repeat(np.arange(machines), per_machine)
    s = np.tile(np.repeat(np.arange(sensors), minutes), machines)
    k = np.tile(offsets, machines * sensors)
    day = 2 * np.pi * (k % 1440) / 1440
    drift = (first_machine + m + 1) * 1e-5 * k
    value = 50.0 + 5.0 * s + np.sin(day + s) + drift + rng.normal(0.0, 0.5, n)
    start64 = np.datetime64(start.astimezone(UTC).replace(tzinfo=None), "us")
    names = np.array(
        [f"bench-m{i:03d}" for i in range(first_machine, first_machine + machines)], dtype=object
    )
    sensor_names = np.array([f"s{i:02d}" for i in range(sensors)], dtype=object)
    return ReadingColumns(
        machine=names[m],
        sensor=sensor_names[s],
        ts=start64 + k.astype("timedelta64[m]").astype("timedelta64[us]"),
        value=value,
        quality=np.zeros(n, dtype=np.int16),
        naive=np.zeros(n, dtype=bool),
    )


def _write(writer: ReadingsWriter, columns: ReadingColumns) -> int:
    written = 0
    for i in range(0, len(columns), BATCH_ROWS):
        sl = slice(i, i + BATCH_ROWS)
        part = ReadingColumns(
            columns.machine[sl],
            columns.sensor[sl],
            columns.ts[sl],
            columns.value[sl],
            columns.quality[sl],
            None,
        )
        written += writer.write(part).inserted
    return written


_EVENTS = """
INSERT INTO events (ts, machine_id, kind, source)
SELECT %(start)s + interval '1 day' * (1 + (id %% 3)), id, 'maintenance', 'bench'
  FROM machines
UNION ALL
SELECT %(start)s + interval '1 hour' * (24 * %(days)s * 0.6 + id), id, 'failure', 'bench'
  FROM machines WHERE id %% 5 = 0
UNION ALL
SELECT %(start)s + interval '1 hour' * (24 * %(days)s * 0.6 + id + 6), id, 'repair', 'bench'
  FROM machines WHERE id %% 5 = 0
UNION ALL
SELECT %(start)s + interval '1 minute' * g * 97 + interval '1 second' * id, id, 'error', 'bench'
  FROM machines, generate_series(1, (%(days)s * 1440 / 97)::int - 1) g
 WHERE (g + id) %% 7 = 0
"""


def _events(database: Database, start: datetime, days: float) -> None:
    """Each machine: a maintenance on day 2-4; every fifth a failure and a repair 6 h later;
    error events now and then. Small, but it exercises baselines and event features."""
    database.execute(_EVENTS, {"start": start, "days": days})


def _time_reads(
    database: Database,
    ranges: list[tuple[list[int], datetime, datetime]],
    reader: Callable[..., pd.DataFrame] = read_series,
) -> tuple[float, int]:
    """Seconds and rows to read ``ranges`` one after the other, doing nothing else. With
    read_series the sensors are named, exactly as the jobs read."""
    sensors = read_sensors(database)
    started, rows = time.perf_counter(), 0
    for machines, lo, hi in ranges:
        if reader is read_series:
            ids = sensors.loc[sensors["machine_id"].isin(machines), "sensor_id"].tolist()
            rows += len(
                read_series(database, start=lo, end=hi, machine_ids=machines, sensor_ids=ids)
            )
        else:
            rows += len(reader(database, start=lo, end=hi, machine_ids=machines))
    return time.perf_counter() - started, rows


def run_features_benchmark(
    database_url: str,
    config: FeaturesConfig,
    *,
    machines: int = 50,
    sensors: int = 20,
    days: float = 7.0,
    echo: Callable[[str], None] = lambda _line: None,
) -> dict[str, Any]:
    """Run the benchmark in a scratch database; returns its figures."""
    cadence = timedelta(minutes=config.cadence_minutes)
    end = floor_to_grid(datetime.now(UTC), cadence) - timedelta(minutes=10)
    minutes = int(days * 1440)
    start = end - timedelta(minutes=minutes)
    result: dict[str, Any] = {"machines": machines, "sensors": sensors, "days": days}
    with scratch_database(database_url, "bench_features") as database:
        writer = ReadingsWriter(database)
        echo(f"writing {machines * sensors * minutes:,} readings ...")
        t0 = time.perf_counter()
        total = 0
        for first in range(0, machines, 5):
            group = min(5, machines - first)
            total += _write(
                writer, synthetic_readings(group, sensors, start, minutes, first_machine=first)
            )
        result["readings"] = total
        result["write_seconds"] = round(time.perf_counter() - t0, 2)
        _events(database, start, days)
        with psycopg.connect(database.url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE readings")

        ids = machine_ids(database)
        job = FeatureJob(database, config)
        result["version"] = job.version
        result["features_per_row"] = len(job.definition.names)
        echo("backfill ...")
        cpu = time.process_time()
        backfill = job.backfill(start, end)
        result["backfill_cpu_seconds"] = round(time.process_time() - cpu, 2)
        result["backfill"] = backfill.as_dict()
        result["backfill_seconds"] = round(backfill.seconds, 3)
        result["backfill_readings_per_s"] = round(total / backfill.seconds)

        ranges = [
            (c.machines, c.start - job.definition.lookback, c.end)
            for c in job._plan(  # the very chunks the backfill used
                {m: start + cadence for m in ids}, end, lambda _s, _m: True
            )
        ]
        read_s, read_rows = _time_reads(database, ranges)
        result["read_only_seconds"] = round(read_s, 3)
        result["read_only_readings_per_s"] = round(read_rows / read_s)
        result["backfill_vs_read_only"] = round(read_s / backfill.seconds, 3)
        read_s, _rows = _time_reads(database, ranges, read_readings)
        result["read_readings_seconds"] = round(read_s, 3)

        echo("10 new minutes, incremental run ...")
        for first in range(0, machines, 5):
            group = min(5, machines - first)
            _write(writer, synthetic_readings(group, sensors, end, 10, first_machine=first))
        incremental = job.run(until=end + cadence)
        result["incremental"] = incremental.as_dict()
        result["incremental_seconds"] = round(incremental.seconds, 3)
        through = end + cadence
        size = config.machines_per_chunk
        read_s, read_rows = _time_reads(
            database,
            [
                (ids[i : i + size], through - job.definition.lookback, through)
                for i in range(0, machines, config.machines_per_chunk)
            ],
        )
        result["incremental_read_only_seconds"] = round(read_s, 3)
        result["incremental_readings_read"] = read_rows
        rerun = job.run(until=through)
        result["rerun_written"] = rerun.written
        result["targets"] = {
            "backfill_readings_per_s": TARGET_BACKFILL_READINGS_PER_S,
            "incremental_seconds": TARGET_INCREMENTAL_S,
            "backfill_met": result["backfill_readings_per_s"] >= TARGET_BACKFILL_READINGS_PER_S,
            "incremental_met": incremental.seconds < TARGET_INCREMENTAL_S,
        }
        stored = database.execute(
            "SELECT count(*), pg_total_relation_size('features') FROM features"
        )
        result["feature_rows"] = int(stored[0][0])
        result["features_table_bytes"] = int(stored[0][1])
    return result


def summary_lines(result: dict[str, Any]) -> list[str]:
    """The figures for people, one per line."""
    t = result["targets"]
    r = result
    inc = r["incremental"]
    verdict = {True: "met", False: "MISSED"}
    return [
        f"data:        {r['machines']} machines × {r['sensors']} sensors × {r['days']} days"
        f" = {r['readings']:,} readings (written in {r['write_seconds']} s)",
        f"features:    {r['feature_rows']:,} rows × {r['features_per_row']} features"
        f" ({r['version']})",
        f"backfill:    {r['backfill_seconds']:>8.2f} s {r['backfill_readings_per_s']:>12,}"
        f" readings/s (target >= {t['backfill_readings_per_s']:,}:"
        f" {verdict[t['backfill_met']]}); CPU {r['backfill_cpu_seconds']} s in this process",
        f"  read only: {r['read_only_seconds']:>8.2f} s {r['read_only_readings_per_s']:>12,}"
        f" readings/s (read_readings: {r['read_readings_seconds']} s)",
        f"incremental: {r['incremental_seconds']:>8.3f} s ({inc['rows']} rows from"
        f" {inc['readings']:,} readings; target < {t['incremental_seconds']} s:"
        f" {verdict[t['incremental_met']]})",
        f"  read only: {r['incremental_read_only_seconds']:>8.3f} s"
        f" ({r['incremental_readings_read']:,} readings)",
        f"re-run:      {r['rerun_written']} rows written",
    ]
