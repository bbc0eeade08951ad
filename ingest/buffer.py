"""Store-and-forward: a bounded on-disk SQLite buffer for batches the database could not take.

When PostgreSQL is unreachable the pipeline puts whole batches here (one row per batch,
columns encoded compactly) and acknowledges their messages only once SQLite has committed
them (``synchronous=FULL``), so a crash of the collector or of the host loses nothing that was
acknowledged. When the database returns, batches are replayed oldest first, interleaved with
live batches so live data is not starved (see :mod:`ingest.pipeline`).

The buffer is bounded by a reading count. When a batch does not fit, the policy decides:

* ``drop_oldest``: delete the oldest batches until it fits (data loss, counted and logged,
  the collector keeps acknowledging: right when freshness matters more than history);
* ``stop_acknowledging``: raise :class:`~ingest.errors.BufferFull`; the pipeline keeps the
  batch in memory, unacknowledged, so the broker keeps the messages (right when the broker
  has room and every reading matters).

Dead letters produced while the database is down are kept in a second table, bounded the same
way (oldest dropped), so a broken payload is never what stops acknowledgement. Machine events
and status changes (Sparkplug gaps, offline/online) ride in a third table, so a message whose
readings were buffered and acknowledged keeps its events too.

Each batch keeps where its readings came from (``meta``: the source of each run of readings
and the message reference — an MQTT topic, an OPC-UA endpoint — of each run), so a row the
database refuses on replay is dead-lettered with its origin. Buffers written before ``meta``
existed are upgraded in place (the column is added; their batches replay as source
``buffer``).
"""

from __future__ import annotations

import enum
import json
import logging
import sqlite3
import struct
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from ingest.errors import BufferFull, StoreAndForwardError
from ingest.quarantine import slice_columns
from ingest.records import DeadLetter, MachineEvent, StatusChange
from millwright.core.storage import ReadingColumns

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<II")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    readings INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS side_records (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    source TEXT NOT NULL,
    topic TEXT,
    payload BLOB,
    reason TEXT NOT NULL
);
"""


class BufferPolicy(enum.StrEnum):
    """What a full buffer does with one more batch."""

    DROP_OLDEST = "drop_oldest"
    STOP_ACKNOWLEDGING = "stop_acknowledging"


def encode_columns(columns: ReadingColumns) -> bytes:
    """Columns as bytes: names as JSON, numbers as raw little-endian arrays."""
    n = len(columns)
    naive = columns.naive if columns.naive is not None else np.zeros(n, dtype=bool)
    names = json.dumps([columns.machine.tolist(), columns.sensor.tolist()]).encode()
    return b"".join(
        (
            _HEADER.pack(n, len(names)),
            names,
            columns.ts.astype("datetime64[us]").view(np.int64).astype("<i8").tobytes(),
            columns.value.astype("<f8").tobytes(),
            columns.quality.astype("<i2").tobytes(),
            naive.astype(np.bool_).tobytes(),
        )
    )


def decode_columns(data: bytes) -> ReadingColumns:
    """Inverse of :func:`encode_columns`."""
    n, names_len = _HEADER.unpack_from(data)
    pos = _HEADER.size
    machines, sensors = json.loads(data[pos : pos + names_len])
    pos += names_len
    ts = np.frombuffer(data, dtype="<i8", count=n, offset=pos).astype("datetime64[us]")
    pos += 8 * n
    value = np.frombuffer(data, dtype="<f8", count=n, offset=pos).copy()
    pos += 8 * n
    quality = np.frombuffer(data, dtype="<i2", count=n, offset=pos).copy()
    pos += 2 * n
    naive = np.frombuffer(data, dtype=np.bool_, count=n, offset=pos).copy()
    return ReadingColumns(
        machine=np.array(machines, dtype=object),
        sensor=np.array(sensors, dtype=object),
        ts=ts,
        value=value,
        quality=quality,
        naive=naive,
    )


def _event_json(e: MachineEvent) -> str:
    return json.dumps(
        {
            "machine": e.machine,
            "kind": e.kind,
            "ts": e.ts.isoformat(),
            "source": e.source,
            "ends_at": e.ends_at.isoformat() if e.ends_at else None,
            "details": e.details,
        },
        default=str,
    )


def _status_json(c: StatusChange) -> str:
    return json.dumps({"machine": c.machine, "status": c.status, "ts": c.ts.isoformat()})


class StoreAndForwardBuffer:
    """A bounded FIFO of reading batches in one SQLite file; thread-safe."""

    def __init__(
        self,
        path: Path | str,
        *,
        max_readings: int = 5_000_000,
        policy: BufferPolicy | str = BufferPolicy.STOP_ACKNOWLEDGING,
        max_dead_letters: int = 100_000,
    ) -> None:
        if max_readings < 1:
            raise ValueError("the buffer needs room for at least one reading.")
        self.path = Path(path)
        self.max_readings = max_readings
        self.policy = BufferPolicy(policy)
        self.max_dead_letters = max_dead_letters
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
            columns = {r[1] for r in self._db.execute("PRAGMA table_info(batches)")}
            if "meta" not in columns:  # a buffer written by an older collector
                self._db.execute("ALTER TABLE batches ADD COLUMN meta TEXT")
            row = self._db.execute(
                "SELECT coalesce(sum(readings), 0), min(created), count(*) FROM batches"
            )
            total, oldest, batches = row.fetchone()
            self._letters = int(self._db.execute("SELECT count(*) FROM dead_letters").fetchone()[0])
            self._sides = int(self._db.execute("SELECT count(*) FROM side_records").fetchone()[0])
        except sqlite3.Error as exc:
            raise StoreAndForwardError(f"cannot open the buffer file {self.path}: {exc}") from exc
        self._readings = int(total)
        self._batches = int(batches)
        self._oldest: float | None = oldest
        if self._readings:
            log.warning("buffer %s holds %d readings from a previous run", self.path, total)

    @property
    def readings(self) -> int:
        """Readings currently buffered."""
        return self._readings

    @property
    def batches(self) -> int:
        """Batches currently buffered."""
        return self._batches

    @property
    def pending_records(self) -> int:
        """Buffered dead letters plus machine events and status changes."""
        return self._letters + self._sides

    def oldest_age_s(self) -> float:
        """Seconds since the oldest buffered batch was stored (0 when empty)."""
        oldest = self._oldest
        return 0.0 if oldest is None else max(0.0, time.time() - oldest)

    def put(self, columns: ReadingColumns, meta: dict[str, object] | None = None) -> int:
        """Store one batch durably; returns how many older readings were dropped for it.
        ``meta`` (JSON-able: the batch's sources and message references) comes back with it.

        Raises :class:`BufferFull` when it does not fit and the policy is stop_acknowledging.
        """
        n = len(columns)
        if n == 0:
            return 0
        with self._lock:
            dropped = 0
            if self._readings + n > self.max_readings:
                if self.policy is BufferPolicy.STOP_ACKNOWLEDGING:
                    raise BufferFull(
                        f"buffer {self.path} is full ({self._readings} of {self.max_readings}"
                        f" readings); {n} more readings stay unacknowledged until the database"
                        " returns"
                    )
                if n > self.max_readings:  # keep the newest part of an oversize batch
                    dropped += n - self.max_readings
                    columns = slice_columns(columns, n - self.max_readings, n)
                    n = self.max_readings
                dropped += self._drop_oldest_locked(self._readings + n - self.max_readings)
            now = time.time()
            try:
                self._db.execute(
                    "INSERT INTO batches (created, readings, data, meta) VALUES (?, ?, ?, ?)",
                    (
                        now,
                        n,
                        encode_columns(columns),
                        None if meta is None else json.dumps(meta, ensure_ascii=True),
                    ),
                )
            except sqlite3.Error as exc:
                raise StoreAndForwardError(f"cannot write to buffer {self.path}: {exc}") from exc
            self._readings += n
            self._batches += 1
            if self._oldest is None:
                self._oldest = now
        if dropped:
            log.warning(
                "buffer full (%d readings): dropped the %d oldest buffered readings",
                self.max_readings,
                dropped,
            )
        return dropped

    def _drop_oldest_locked(self, needed: int) -> int:
        dropped = 0
        while dropped < needed:
            row = self._db.execute(
                "SELECT id, readings FROM batches ORDER BY id LIMIT 1"
            ).fetchone()
            if row is None:
                break
            self._db.execute("DELETE FROM batches WHERE id = ?", (row[0],))
            self._batches -= 1
            dropped += int(row[1])
            self._readings -= int(row[1])
        self._refresh_oldest_locked()
        return dropped

    def oldest(self) -> tuple[int, ReadingColumns] | None:
        """The oldest batch and its id (to :meth:`remove` once written), or None."""
        found = self.oldest_batch()
        return None if found is None else (found[0], found[1])

    def oldest_batch(self) -> tuple[int, ReadingColumns, dict[str, object]] | None:
        """The oldest batch with its id and meta (empty for batches stored without one)."""
        with self._lock:
            row = self._db.execute(
                "SELECT id, data, meta FROM batches ORDER BY id LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        try:
            meta = json.loads(row[2]) if row[2] else {}
        except ValueError:
            meta = {}
        return int(row[0]), decode_columns(row[1]), meta if isinstance(meta, dict) else {}

    def remove(self, batch_id: int) -> None:
        """Forget a batch once the database has committed it."""
        with self._lock:
            row = self._db.execute(
                "DELETE FROM batches WHERE id = ? RETURNING readings", (batch_id,)
            ).fetchone()
            if row is not None:
                self._readings -= int(row[0])
                self._batches -= 1
            self._refresh_oldest_locked()

    def _refresh_oldest_locked(self) -> None:
        row = self._db.execute("SELECT min(created) FROM batches").fetchone()
        self._oldest = row[0] if row else None

    # --- dead letters -------------------------------------------------------------------

    def put_dead_letters(self, letters: Sequence[DeadLetter]) -> int:
        """Keep dead letters until the database returns; returns how many old ones dropped."""
        if not letters:
            return 0
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO dead_letters (received_at, source, topic, payload, reason)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (d.received_at.isoformat(), d.source, d.topic, d.payload, d.reason)
                    for d in letters
                ],
            )
            count = self._db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
            excess = max(0, int(count) - self.max_dead_letters)
            if excess:
                self._db.execute(
                    "DELETE FROM dead_letters WHERE id IN"
                    " (SELECT id FROM dead_letters ORDER BY id LIMIT ?)",
                    (excess,),
                )
            self._db.execute("COMMIT")
            self._letters = int(count) - excess
        return excess

    def dead_letters(self, limit: int = 1000) -> list[tuple[int, DeadLetter]]:
        """The oldest buffered dead letters with their ids."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, received_at, source, topic, payload, reason FROM dead_letters"
                " ORDER BY id LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            (
                int(r[0]),
                DeadLetter(r[2], r[3], bytes(r[4] or b""), r[5], datetime.fromisoformat(r[1])),
            )
            for r in rows
        ]

    def remove_dead_letters(self, up_to_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM dead_letters WHERE id <= ?", (up_to_id,))
            self._letters = int(self._db.execute("SELECT count(*) FROM dead_letters").fetchone()[0])

    def has_dead_letters(self) -> bool:
        return self._letters > 0

    # --- machine events and status changes ------------------------------------------------

    def put_side_records(
        self, events: Sequence[MachineEvent], statuses: Sequence[StatusChange]
    ) -> None:
        """Keep events and status changes until the database returns (durably, in order)."""
        rows = [("event", _event_json(e)) for e in events]
        rows += [("status", _status_json(c)) for c in statuses]
        if not rows:
            return
        with self._lock:
            try:
                self._db.execute("BEGIN")
                self._db.executemany("INSERT INTO side_records (kind, data) VALUES (?, ?)", rows)
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise StoreAndForwardError(f"cannot write to buffer {self.path}: {exc}") from exc
            self._sides += len(rows)

    def side_records(
        self, limit: int = 1000
    ) -> tuple[int | None, list[MachineEvent], list[StatusChange]]:
        """The oldest buffered events and status changes, and the last id among them."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, kind, data FROM side_records ORDER BY id LIMIT ?", (limit,)
            ).fetchall()
        events: list[MachineEvent] = []
        statuses: list[StatusChange] = []
        for _, kind, data in rows:
            doc = json.loads(data)
            if kind == "event":
                events.append(
                    MachineEvent(
                        doc["machine"],
                        doc["kind"],
                        datetime.fromisoformat(doc["ts"]),
                        doc["source"],
                        datetime.fromisoformat(doc["ends_at"]) if doc["ends_at"] else None,
                        doc["details"],
                    )
                )
            else:
                statuses.append(
                    StatusChange(doc["machine"], doc["status"], datetime.fromisoformat(doc["ts"]))
                )
        return (int(rows[-1][0]) if rows else None), events, statuses

    def remove_side_records(self, up_to_id: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM side_records WHERE id <= ?", (up_to_id,))
            self._sides = int(self._db.execute("SELECT count(*) FROM side_records").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
