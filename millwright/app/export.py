"""`millwright export`: a plant takes its data out — readings, events, risk scores, plans.

Each table is written for a time range as CSV (PostgreSQL's ``COPY … TO STDOUT`` streamed
straight to the file) or Parquet (a server-side cursor in batches into a pyarrow writer), so
memory stays bounded whatever the range. Names, not ids: machines and sensors by name, jobs
by their external id. Times are UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from millwright.core.storage.database import Database

BATCH = 100_000

# Each query takes %(start)s and %(end)s: rows with their time in [start, end).
QUERIES: dict[str, str] = {
    "readings": (
        "SELECT r.ts, m.name AS machine, s.name AS sensor, r.value, r.quality"
        " FROM readings r JOIN machines m ON m.id = r.machine_id"
        " JOIN sensors s ON s.id = r.sensor_id"
        " WHERE r.ts >= %(start)s AND r.ts < %(end)s ORDER BY m.name, s.name, r.ts"
    ),
    "events": (
        "SELECT e.ts, m.name AS machine, e.kind, e.ends_at AS end, e.work_order,"
        " e.details->>'component' AS component, e.details->>'note' AS note, e.source"
        " FROM events e JOIN machines m ON m.id = e.machine_id"
        " WHERE e.ts >= %(start)s AND e.ts < %(end)s ORDER BY e.ts, m.name, e.id"
    ),
    "risk": (
        "SELECT r.ts, m.name AS machine, r.model_version, r.horizon_hours, r.p_fail, r.rul,"
        " r.rul_low, r.top_features::text AS top_features"
        " FROM risk_scores r JOIN machines m ON m.id = r.machine_id"
        " WHERE r.ts >= %(start)s AND r.ts < %(end)s ORDER BY r.ts, m.name"
    ),
    "plans": (
        "SELECT s.id AS schedule_id, s.is_current, a.kind, m.name AS machine,"
        " j.external_id AS job, o.seq, o.name AS operation, a.start_at, a.end_at,"
        " a.reason::text AS reason"
        " FROM schedule_assignments a JOIN schedules s ON s.id = a.schedule_id"
        " JOIN machines m ON m.id = a.machine_id"
        " LEFT JOIN operations o ON o.id = a.operation_id LEFT JOIN jobs j ON j.id = o.job_id"
        " WHERE a.start_at < %(end)s AND a.end_at > %(start)s"
        " ORDER BY s.id, m.name, a.start_at"
    ),
}
TABLES = tuple(QUERIES)


@dataclass(frozen=True)
class Exported:
    table: str
    path: Path
    rows: int


def export_table(
    database: Database, table: str, path: Path, *, start: datetime, end: datetime, fmt: str
) -> Exported:
    """Write one table's rows in ``[start, end)`` to ``path`` as ``csv`` or ``parquet``."""
    if table not in QUERIES:
        raise ValueError(f"cannot export {table!r}; expected one of {', '.join(TABLES)}.")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format {fmt!r} is not csv or parquet.")
    if end <= start:
        raise ValueError("the end of the range must be after its start.")
    params = {"start": start, "end": end}
    if fmt == "csv":
        return Exported(table, path, _csv(database, QUERIES[table], params, path))
    return Exported(table, path, _parquet(database, QUERIES[table], params, path))


def _csv(database: Database, query: str, params: dict[str, Any], path: Path) -> int:
    with database.connection() as conn, conn.cursor() as cur:
        counted = cur.execute(f"SELECT count(*) FROM ({query}) AS rows", params).fetchone()
        copy_sql = f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER true)"
        with path.open("wb") as handle, cur.copy(copy_sql, params) as copy:
            for block in copy:
                handle.write(block)
    return int(counted[0]) if counted else 0


def _batches(
    database: Database, query: str, params: dict[str, Any]
) -> Iterator[tuple[list[str], list[tuple[Any, ...]]]]:
    with database.connection() as conn, conn.cursor(name="millwright_export") as cur:
        cur.itersize = BATCH
        cur.execute(query, params)
        names: list[str] = []
        while True:
            rows = cur.fetchmany(BATCH)
            if not names and cur.description is not None:
                names = [c.name for c in cur.description]
            if not rows:
                if names:
                    yield names, []
                return
            yield names, rows


def _parquet(database: Database, query: str, params: dict[str, Any], path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: pq.ParquetWriter | None = None
    total = 0
    try:
        for names, rows in _batches(database, query, params):
            columns: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in names]
            table = pa.table({n: pa.array(list(c)) for n, c in zip(names, columns, strict=True)})
            if writer is None:
                if not rows:
                    pq.write_table(table, path)
                    return 0
                writer = pq.ParquetWriter(path, table.schema)
            if rows:
                writer.write_table(table.cast(writer.schema))
                total += len(rows)
    finally:
        if writer is not None:
            writer.close()
    return total
