"""``millwright bench import``: the file importer against the bulk writer alone, same rows.

The same synthetic readings are written once through :class:`ReadingsWriter` from columns
already in memory (the writer's rate), then imported from a long-layout CSV and from a
Parquet file of those rows (parsing, validation, rejects bookkeeping and the same writer).
Each run starts from a fresh ``bench_readings`` table with the readings' unique index, and
the issue's bar is import rate >= 0.5 x writer rate.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.ingest_writer import _reset_table, synthetic_columns
from ingest.imports.readings import ReadingsImporter, ReadingsOptions
from millwright.core.storage.database import Database
from millwright.core.storage.readings import ReadingColumns, ReadingsWriter

CHUNK = 100_000


def _frame(columns: ReadingColumns) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts": pd.DatetimeIndex(columns.ts).tz_localize("UTC"),
            "machine": columns.machine,
            "sensor": columns.sensor,
            "value": columns.value,
        }
    )


def run_import_benchmark(database: Database, *, rows: int = 1_000_000) -> dict[str, Any]:
    columns = synthetic_columns(rows)
    frame = _frame(columns)
    with tempfile.TemporaryDirectory(prefix="mw-bench-import-") as tmp:
        csv_path = Path(tmp) / "readings.csv"
        parquet_path = Path(tmp) / "readings.parquet"
        out = frame.copy()
        out["ts"] = out["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        out.to_csv(csv_path, index=False)
        frame.to_parquet(parquet_path)

        _reset_table(database)
        writer = ReadingsWriter(database, table="bench_readings")
        writer.sources.ids(list(set(zip(columns.machine, columns.sensor, strict=True))))
        started = time.perf_counter()
        inserted = 0
        for start in range(0, rows, CHUNK):
            part = slice(start, start + CHUNK)
            inserted += writer.write(
                ReadingColumns(
                    columns.machine[part],
                    columns.sensor[part],
                    columns.ts[part],
                    columns.value[part],
                    columns.quality[part],
                    np.zeros(len(columns.value[part]), dtype=bool),
                )
            ).inserted
        writer_s = time.perf_counter() - started

        result: dict[str, Any] = {
            "rows": rows,
            "writer_inserted": inserted,
            "writer_rows_per_s": rows / writer_s,
        }
        for kind, path in (("csv", csv_path), ("parquet", parquet_path)):
            _reset_table(database)
            importer = ReadingsImporter(
                database,
                ReadingsOptions(layout="long", chunk_rows=CHUNK),
                table="bench_readings",
                rejects=Path(tmp) / f"{kind}.rejects.csv",
            )
            started = time.perf_counter()
            summary = importer.run([path])
            elapsed = time.perf_counter() - started
            result[f"{kind}_imported"] = summary.imported
            result[f"{kind}_rejected"] = summary.rejected
            result[f"{kind}_rows_per_s"] = rows / elapsed
            result[f"{kind}_ratio"] = (rows / elapsed) / result["writer_rows_per_s"]
    with database.connection() as conn:
        conn.execute("DROP TABLE IF EXISTS bench_readings")
    return result
