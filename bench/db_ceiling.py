"""The database's ingest ceiling on this host: the bulk writer alone into ``readings``.

``bench scale`` measures the whole pipeline; this measures the one part that does not scale
out by adding processes, the single database. K writer processes (one per would-be
collector) each write their share of synthetic readings through the production
:class:`~millwright.core.storage.readings.ReadingsWriter` (binary COPY into a staging table,
then ``INSERT … ON CONFLICT DO NOTHING`` into ``readings`` with its unique index) into a
fresh scratch database. Reported: rows/s stored, and the CPU seconds per 1,000 rows of the
writers and of the PostgreSQL backends. The backends' figure is the load-proof one: 1,000 /
it is the rows/s one database core sustains, which is where a single node stops once its
cores are busy. The server's WAL writer, checkpointer and background writer serve every
database on the server (other users' too), so their CPU is reported apart, as an upper bound.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from typing import Any

import numpy as np
import psutil

from bench.ingest_writer import synthetic_columns
from millwright.core.storage.database import Database
from millwright.core.storage.readings import ReadingColumns, ReadingsWriter
from millwright.core.storage.scratch import scratch_database

BATCH = 20_000  # the collectors' batch size in bench scale


def _writer(url: str, index: int, rows: int, start_at: float, out: Any) -> None:
    columns = synthetic_columns(rows, machines=100, sensors=20)
    machine = np.array([f"w{index}-{m}" for m in columns.machine], dtype=object)
    database = Database(url, min_size=1, max_size=1)
    writer = ReadingsWriter(database)
    writer.sources.ids(list({(m, s) for m, s in zip(machine, columns.sensor, strict=True)}))
    batches = [
        ReadingColumns(
            machine[i : i + BATCH],
            columns.sensor[i : i + BATCH],
            columns.ts[i : i + BATCH],
            columns.value[i : i + BATCH],
            columns.quality[i : i + BATCH],
            None if columns.naive is None else columns.naive[i : i + BATCH],
        )
        for i in range(0, rows, BATCH)
    ]
    time.sleep(max(0.0, start_at - time.time()))
    started, cpu0 = time.time(), time.process_time()
    inserted = sum(writer.write(batch).inserted for batch in batches)
    out.put((inserted, time.process_time() - cpu0, started, time.time()))
    database.close()


OWN = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
SHARED = (
    "SELECT pid FROM pg_stat_activity"
    " WHERE backend_type IN ('walwriter', 'checkpointer', 'background writer')"
)


class _BackendCpu:
    """CPU of some server processes (a pid query), sampled until stopped."""

    def __init__(self, database: Database, query: str) -> None:
        self._database = database
        self._query = query
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self, baseline: bool) -> None:
        for (pid,) in self._database.execute(self._query):
            try:
                t = psutil.Process(int(pid)).cpu_times()
            except psutil.Error:
                continue
            if int(pid) not in self._last:
                self._first[int(pid)] = t.user + t.system if baseline else 0.0
            self._last[int(pid)] = t.user + t.system

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample(False)

    def __enter__(self) -> _BackendCpu:
        self._sample(True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._sample(False)

    @property
    def seconds(self) -> float:
        return sum(self._last[p] - self._first.get(p, 0.0) for p in self._last)


def _one(admin_url: str, rows: int, writers: int) -> dict[str, Any]:
    from bench.scale import _as_url

    with scratch_database(admin_url, "dbceil") as database:
        url = _as_url(database.url)
        ctx = mp.get_context("spawn")
        out = ctx.Queue()
        start_at = time.time() + 8.0 + 2.0 * writers  # after every writer has its batches
        share = rows // writers
        procs = [
            ctx.Process(target=_writer, args=(url, k, share, start_at, out)) for k in range(writers)
        ]
        for p in procs:
            p.start()
        with _BackendCpu(database, OWN) as backends, _BackendCpu(database, SHARED) as shared:
            results = [out.get(timeout=600) for _ in procs]
        for p in procs:
            p.join(30)
        stored = int(database.execute("SELECT count(*) FROM readings")[0][0])
    inserted = sum(r[0] for r in results)
    wall = max(r[3] for r in results) - min(r[2] for r in results)
    writer_cpu = sum(r[1] for r in results)
    db_per_1k = backends.seconds / max(stored, 1) * 1000
    return {
        "writers": writers,
        "rows": share * writers,
        "inserted": inserted,
        "stored": stored,
        "rows_per_s": round(stored / wall),
        "cpu_s_per_1000_rows": {
            "writers": round(writer_cpu / max(stored, 1) * 1000, 4),
            "database": round(db_per_1k, 4),
            "server_background_shared": round(shared.seconds / max(stored, 1) * 1000, 4),
        },
        "rows_per_s_per_database_core": round(1000 / db_per_1k) if db_per_1k > 0 else None,
    }


def run_db_ceiling(admin_url: str, *, rows: int, writers: list[int]) -> list[dict[str, Any]]:
    """One run per writer count, each on a fresh scratch database."""
    return [_one(admin_url, rows, k) for k in writers]
