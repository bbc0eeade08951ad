"""Readings: the domain record, the idempotent bulk writer and the bulk reader.

The writer validates a batch with numpy (bad rows are rejected with a reason, the rest are
written) and encodes it straight into PostgreSQL's binary COPY format. A batch that cannot
meet an existing row (no duplicate inside it, and no stored row of its series inside its
time span: one index probe per series) is copied straight into the table; any other goes
through a temporary staging table and ``INSERT ... ON CONFLICT DO NOTHING`` on
``(machine, sensor, ts)``. So a re-delivered reading is a no-op, the count of new rows is
exact, and the server logs no duplicate-key errors for replays.

On TimescaleDB, rows older than the continuous aggregate's refresh window (a store-and-forward
replay after a long outage) are not re-materialised by the refresh policy; the writer
collects their span and refreshes ``readings_1h`` over it once the replay is over.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import psycopg

from millwright.core.storage.copy_binary import decode_fixed_rows, encode_readings
from millwright.core.storage.database import Database
from millwright.core.storage.sources import SourceRegistry
from millwright.core.storage.timescale import CAGG_START_OFFSET, refresh_hourly

log = logging.getLogger(__name__)

REFRESH_QUIET_S = 10.0  # no old rows this long: the replay is over, refresh its span
REFRESH_EVERY_S = 60.0  # during a long replay, refresh what has arrived at least this often
EARLIEST = np.datetime64("2000-01-01T00:00:00", "us")


class Quality(enum.IntEnum):
    """Coarse OPC-UA-like quality; RECEIVE_TIME is a flag added to it."""

    GOOD = 0
    UNCERTAIN = 1
    BAD = 2
    RECEIVE_TIME = 8  # flag: the source sent no timestamp, receive time was used


@dataclass(frozen=True, slots=True)
class Reading:
    """One sensor sample. Value and timestamp sanity is judged by the writer, not here,
    so a bad sample can be rejected with a reason instead of crashing its batch."""

    machine: str
    sensor: str
    ts: datetime
    value: float
    quality: int = Quality.GOOD

    def __post_init__(self) -> None:
        if not self.machine or not self.sensor:
            raise ValueError("a reading needs a non-empty machine and sensor name.")


@dataclass(frozen=True)
class Rejection:
    index: int
    reason: str


@dataclass(frozen=True)
class WriteResult:
    received: int
    inserted: int
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.received - len(self.rejected) - self.inserted


@dataclass
class ReadingColumns:
    """A batch of readings as columns: what the hot path builds and the writer consumes."""

    machine: np.ndarray  # object (str)
    sensor: np.ndarray  # object (str)
    ts: np.ndarray  # datetime64[us], UTC
    value: np.ndarray  # float64
    quality: np.ndarray  # int16
    naive: np.ndarray | None = None  # bool: timestamp had no timezone

    def __len__(self) -> int:
        return len(self.value)

    @classmethod
    def from_readings(cls, readings: Sequence[Reading]) -> ReadingColumns:
        n = len(readings)
        ts = np.empty(n, dtype="datetime64[us]")
        naive = np.zeros(n, dtype=bool)
        value = np.empty(n, dtype=np.float64)
        for i, r in enumerate(readings):
            if r.ts.tzinfo is None:
                naive[i] = True
                ts[i] = np.datetime64(r.ts, "us")
            else:
                ts[i] = np.datetime64(r.ts.astimezone(UTC).replace(tzinfo=None), "us")
            try:
                value[i] = float(r.value)
            except (TypeError, ValueError):
                value[i] = np.nan
        return cls(
            machine=np.array([r.machine for r in readings], dtype=object),
            sensor=np.array([r.sensor for r in readings], dtype=object),
            ts=ts,
            value=value,
            quality=np.array([int(r.quality) for r in readings], dtype=np.int16),
            naive=naive,
        )

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> ReadingColumns:
        """Columns machine, sensor, ts (tz-aware), value and optionally quality."""
        ts = frame["ts"]
        naive_col = getattr(ts.dt, "tz", None) is None
        if not naive_col:
            ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
        quality = frame["quality"] if "quality" in frame else np.zeros(len(frame))
        return cls(
            machine=frame["machine"].to_numpy(dtype=object),
            sensor=frame["sensor"].to_numpy(dtype=object),
            ts=ts.to_numpy(dtype="datetime64[us]"),
            value=pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64),
            quality=np.asarray(quality, dtype=np.int16),
            naive=np.full(len(frame), naive_col),
        )


def validate(columns: ReadingColumns, *, now: datetime, max_future_s: int) -> np.ndarray:
    """Reasons per row (None when the row is good), vectorised."""
    n = len(columns)
    reasons = np.full(n, None, dtype=object)
    latest = np.datetime64(now.astimezone(UTC).replace(tzinfo=None), "us") + np.timedelta64(
        max_future_s, "s"
    )
    ts = columns.ts
    checks: list[tuple[np.ndarray, str]] = [
        (np.isnat(ts), "missing timestamp"),
        (ts < EARLIEST, "timestamp before 2000-01-01"),
        (ts > latest, f"timestamp more than {max_future_s} s in the future"),
        (~np.isfinite(columns.value), "value is not a finite number"),
    ]
    if columns.naive is not None:
        checks.insert(0, (columns.naive, "timestamp has no timezone"))
    for mask, reason in reversed(checks):  # the first failing check wins
        reasons[mask] = reason
    return reasons


class ReadingsWriter:
    """Idempotent bulk writer for readings (binary COPY → staging → INSERT ON CONFLICT)."""

    def __init__(
        self,
        database: Database,
        *,
        register_unknown: bool = True,
        max_future_s: int = 86_400,
        table: str = "readings",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._database = database
        self._sources = SourceRegistry(database, register_unknown=register_unknown)
        self._max_future_s = max_future_s
        if table not in {"readings", "bench_readings"}:
            raise ValueError(f"unknown readings table {table!r}.")
        self._table = table
        self.direct_copies = 0  # batches copied straight into the table
        self.staged_copies = 0  # batches that went through staging (possible duplicates)
        self.unexpected_conflicts = 0  # direct copies that met a concurrent writer's row
        self.stale_span: tuple[datetime, datetime] | None = None  # awaiting a refresh
        self._clock = clock
        self._stale_since = self._last_stale = 0.0

    @property
    def sources(self) -> SourceRegistry:
        return self._sources

    def write(self, readings: Sequence[Reading] | ReadingColumns | pd.DataFrame) -> WriteResult:
        """Write a batch; returns how many rows were new and which were rejected and why."""
        if isinstance(readings, pd.DataFrame):
            columns = ReadingColumns.from_frame(readings)
        elif isinstance(readings, ReadingColumns):
            columns = readings
        else:
            columns = ReadingColumns.from_readings(readings)
        n = len(columns)
        if n == 0:
            return WriteResult(0, 0)
        reasons = validate(columns, now=datetime.now(UTC), max_future_s=self._max_future_s)
        machine_ids, sensor_ids = self._resolve_ids(columns, reasons)
        good = pd.isna(reasons)
        rejected = [Rejection(int(i), str(reasons[i])) for i in np.flatnonzero(~good)]
        if rejected:
            log.warning("rejected %d of %d readings (first: %s)", len(rejected), n, rejected[0])
        if not good.any():
            return WriteResult(n, 0, rejected)
        if rejected:
            ts, machine_ids, sensor_ids = columns.ts[good], machine_ids[good], sensor_ids[good]
            payload = encode_readings(
                ts, machine_ids, sensor_ids, columns.value[good], columns.quality[good]
            )
        else:  # the common case: no copies of the columns
            ts = columns.ts
            payload = encode_readings(
                columns.ts, machine_ids, sensor_ids, columns.value, columns.quality
            )
        inserted = self._copy_and_insert(payload, n - len(rejected), machine_ids, sensor_ids, ts)
        self._track_stale(ts, inserted)
        return WriteResult(n, inserted, rejected)

    def _track_stale(self, ts: np.ndarray, inserted: int) -> None:
        """Collect the span of new rows older than the aggregate's refresh window, and refresh
        it once the replay is over: no old rows for ``REFRESH_QUIET_S`` (live batches go on
        in between), or every ``REFRESH_EVERY_S`` during a long replay."""
        if self._table != "readings" or len(ts) == 0:
            return
        now = self._clock()
        cutoff = np.datetime64((datetime.now(UTC) - CAGG_START_OFFSET).replace(tzinfo=None), "us")
        old = ts < cutoff
        if inserted > 0 and old.any():
            lo = ts[old].min().astype(datetime).replace(tzinfo=UTC)
            hi = ts[old].max().astype(datetime).replace(tzinfo=UTC)
            if self.stale_span is None:
                self.stale_span, self._stale_since = (lo, hi), now
            else:
                self.stale_span = (min(self.stale_span[0], lo), max(self.stale_span[1], hi))
            self._last_stale = now
        if self.stale_span is not None and (
            now - self._last_stale >= REFRESH_QUIET_S or now - self._stale_since >= REFRESH_EVERY_S
        ):
            self.refresh_stale()

    def refresh_stale(self) -> tuple[datetime, datetime] | None:
        """Refresh ``readings_1h`` over the replayed old span now (TimescaleDB only)."""
        span, self.stale_span = self.stale_span, None
        if span is not None and self._database.timescale:
            refresh_hourly(self._database, *span)
            log.info("refreshed readings_1h over the replayed span %s .. %s", *span)
        return span

    def _resolve_ids(
        self, columns: ReadingColumns, reasons: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        # factorize each name column (fast string hashing), then the pair as one int64 code:
        # several times cheaper per row than factorizing a MultiIndex of tuples
        machine_codes, machines = pd.factorize(columns.machine)
        sensor_codes, sensors = pd.factorize(columns.sensor)
        per_machine = max(len(sensors), 1)
        pair = machine_codes.astype(np.int64) * per_machine + sensor_codes
        missing = (machine_codes < 0) | (sensor_codes < 0)  # None/NaN names
        if missing.any():
            pair[missing] = -1  # factorize's missing marker: code -1, not a key
            reasons[missing & pd.isna(reasons)] = "missing machine or sensor name"
        codes, unique_pairs = pd.factorize(pair, use_na_sentinel=False)
        unique_keys = [
            (str(machines[p // per_machine]), str(sensors[p % per_machine])) if p >= 0 else None
            for p in unique_pairs.tolist()
        ]
        known = self._sources.ids([k for k in unique_keys if k is not None])
        ids = [known.get(k, (-1, -1)) if k is not None else (-1, -1) for k in unique_keys]
        machine_of = np.array([i[0] for i in ids], dtype=np.int32)
        sensor_of = np.array([i[1] for i in ids], dtype=np.int32)
        machine_ids = machine_of[codes]
        sensor_ids = sensor_of[codes]
        unknown = (machine_ids < 0) & pd.isna(reasons)
        reasons[unknown] = "unknown machine or sensor (registration is off)"
        return machine_ids, sensor_ids

    def _may_conflict(
        self,
        conn: psycopg.Connection[Any],
        machine_ids: np.ndarray,
        sensor_ids: np.ndarray,
        ts: np.ndarray,
    ) -> bool:
        """Whether the batch might hold a row already stored (or twice): a duplicate inside
        the batch, or a stored row of one of its series within the batch's span of that series.
        An overlap is not proof of a duplicate; it only routes the batch through staging."""
        pair = (machine_ids.astype(np.int64) << 32) | sensor_ids.astype(np.int64)
        t = ts.astype(np.int64)
        order = np.lexsort((t, pair))
        pair, t = pair[order], t[order]
        same_pair = pair[1:] == pair[:-1]
        if bool(np.any(same_pair & (t[1:] == t[:-1]))):
            return True
        starts = np.flatnonzero(np.r_[True, ~same_pair])
        ends = np.r_[starts[1:] - 1, len(pair) - 1]
        lo = ts[order][starts].astype(datetime)
        hi = ts[order][ends].astype(datetime)
        row = conn.execute(
            f"SELECT EXISTS (SELECT 1 FROM unnest(%s::int[], %s::int[], %s::timestamp[],"
            f" %s::timestamp[]) AS b(m, s, lo, hi) JOIN {self._table} r"
            " ON r.machine_id = b.m AND r.sensor_id = b.s"
            " AND r.ts BETWEEN (b.lo AT TIME ZONE 'UTC') AND (b.hi AT TIME ZONE 'UTC'))",
            (
                (pair[starts] >> 32).tolist(),
                (pair[starts] & 0xFFFFFFFF).tolist(),
                lo.tolist(),
                hi.tolist(),
            ),
        ).fetchone()
        return bool(row and row[0])

    def _copy_and_insert(
        self,
        payload: bytes,
        rows: int,
        machine_ids: np.ndarray,
        sensor_ids: np.ndarray,
        ts: np.ndarray,
    ) -> int:
        """COPY straight into the table when the batch cannot meet a stored row (the common
        case, as fast as raw COPY); otherwise through the staging table with ON CONFLICT DO
        NOTHING, so the server never raises (and logs) a duplicate-key error for a replay.
        A direct copy that still meets a row a concurrent writer stored in between rolls back
        and goes through staging."""
        with self._database.connection() as conn:
            if not self._may_conflict(conn, machine_ids, sensor_ids, ts):
                try:
                    with (
                        conn.transaction(),
                        conn.cursor() as cur,
                        cur.copy(
                            f"COPY {self._table} (ts, machine_id, sensor_id, value, quality)"
                            " FROM STDIN (FORMAT BINARY)"
                        ) as copy,
                    ):
                        copy.write(payload)
                    self.direct_copies += 1
                    return rows
                except psycopg.errors.UniqueViolation:
                    self.unexpected_conflicts += 1
            staging = f"{self._table}_staging"
            conn.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {staging}"
                " (ts timestamptz, machine_id integer, sensor_id integer,"
                " value double precision, quality smallint) ON COMMIT DELETE ROWS"
            )
            with conn.cursor() as cur:
                with cur.copy(
                    f"COPY {staging} (ts, machine_id, sensor_id, value, quality)"
                    " FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.write(payload)
                cur.execute(
                    f"INSERT INTO {self._table} (ts, machine_id, sensor_id, value, quality)"
                    f" SELECT ts, machine_id, sensor_id, value, quality FROM {staging}"
                    " ON CONFLICT DO NOTHING"
                )
                inserted = max(cur.rowcount, 0)
            self.staged_copies += 1
            return inserted


_READ_COLUMNS = ("ts", "machine_id", "sensor_id", "value", "quality")


def read_readings(
    database: Database,
    *,
    start: datetime,
    end: datetime,
    machine_ids: Sequence[int] | None = None,
    sensor_ids: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Readings in ``[start, end)`` as a DataFrame (ts UTC, machine_id, sensor_id, value,
    quality), fetched with binary COPY and decoded with numpy rather than row by row."""
    conditions = ["ts >= %(start)s", "ts < %(end)s"]
    params: dict[str, Any] = {"start": start, "end": end}
    if machine_ids is not None:
        conditions.append("machine_id = ANY(%(machines)s)")
        params["machines"] = list(machine_ids)
    if sensor_ids is not None:
        conditions.append("sensor_id = ANY(%(sensors)s)")
        params["sensors"] = list(sensor_ids)
    query = (
        "COPY (SELECT ts, machine_id, sensor_id, value, quality FROM readings WHERE "
        + " AND ".join(conditions)
        + " ORDER BY machine_id, sensor_id, ts) TO STDOUT (FORMAT BINARY)"
    )
    chunks: list[bytes] = []
    with database.connection() as conn, conn.cursor() as cur, cur.copy(query, params) as copy:
        for block in copy:
            chunks.append(bytes(block))
    return decode_fixed_rows(b"".join(chunks))


def sensor_names(database: Database) -> pd.DataFrame:
    """machine_id, machine, line, sensor_id, sensor, unit for every registered sensor."""
    rows = database.execute(
        "SELECT m.id, m.name, m.line, s.id, s.name, s.unit"
        " FROM sensors s JOIN machines m ON m.id = s.machine_id ORDER BY m.id, s.id"
    )
    return pd.DataFrame(
        rows, columns=["machine_id", "machine", "line", "sensor_id", "sensor", "unit"]
    )
