"""The edge's local copy in SQLite (stdlib ``sqlite3``): the active model artifact, the feature
state it was trained for, and the scores computed here until the centre has them.

One file, one writer (the edge service). Floats are stored as SQLite REAL (IEEE double), so a
score read back is the number computed; instants as integer microseconds since the epoch.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS model (
    version TEXT PRIMARY KEY, feature_version TEXT NOT NULL, artifact TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feature_state (
    feature_version TEXT PRIMARY KEY, state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS scores (
    machine_id INTEGER NOT NULL,
    ts_us INTEGER NOT NULL,
    model_version TEXT NOT NULL,
    horizon_hours REAL NOT NULL,
    p_fail REAL NOT NULL,
    rul REAL NOT NULL,
    rul_low REAL NOT NULL,
    top_features TEXT NOT NULL,
    drift TEXT NOT NULL,
    synced INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (machine_id, ts_us, model_version)
);
CREATE INDEX IF NOT EXISTS scores_unsynced ON scores (synced) WHERE synced = 0;
CREATE TABLE IF NOT EXISTS machines (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, line TEXT, machine_class TEXT
);
CREATE TABLE IF NOT EXISTS episodes (
    machine_id INTEGER NOT NULL,
    rule TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (machine_id, rule)
);
CREATE TABLE IF NOT EXISTS transitions (
    uid TEXT PRIMARY KEY,
    episode TEXT NOT NULL,
    machine_id INTEGER NOT NULL,
    rule TEXT NOT NULL,
    doc TEXT NOT NULL,
    synced INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body BLOB NOT NULL,
    created_us INTEGER NOT NULL,
    next_us INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    delivered_us INTEGER,
    dead INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
"""


@dataclass(frozen=True)
class CachedModel:
    """The model copy: its version, feature version and artifact document."""

    version: str
    feature_version: str
    artifact: dict[str, Any]
    state: dict[str, Any]


class EdgeCache:
    """The SQLite file of one edge service."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (the edge's other tables: episodes, outbox)."""
        with self._tx() as conn:
            yield conn

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Rows of one read."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    # --- machines (names on the wire, ids in the feature state) ---------------------------

    def store_machines(self, rows: list[tuple[int, str, str | None, str | None]]) -> None:
        """Replace the machine list: (id, name, line, machine_class)."""
        with self._tx() as conn:
            conn.execute("DELETE FROM machines")
            conn.executemany(
                "INSERT INTO machines (id, name, line, machine_class) VALUES (?, ?, ?, ?)", rows
            )

    def machines(self) -> list[tuple[int, str, str | None, str | None]]:
        return [
            (int(r[0]), str(r[1]), r[2], r[3])
            for r in self.query("SELECT id, name, line, machine_class FROM machines ORDER BY id")
        ]

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    # --- the model and its feature state ------------------------------------------------

    def model_version(self) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'model_version'").fetchone()
        return None if row is None else str(row[0])

    def store_model(
        self, version: str, feature_version: str, artifact: dict[str, Any], state: dict[str, Any]
    ) -> None:
        """Replace the copy with this model and feature state (one transaction)."""
        with self._tx() as conn:
            conn.execute("DELETE FROM model")
            conn.execute("DELETE FROM feature_state")
            conn.execute(
                "INSERT INTO model (version, feature_version, artifact) VALUES (?, ?, ?)",
                (version, feature_version, json.dumps(artifact)),
            )
            conn.execute(
                "INSERT INTO feature_state (feature_version, state) VALUES (?, ?)",
                (feature_version, json.dumps(state)),
            )
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('model_version', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (version,),
            )

    def load_model(self) -> CachedModel | None:
        row = self._conn.execute(
            "SELECT m.version, m.feature_version, m.artifact, s.state FROM model m"
            " JOIN feature_state s ON s.feature_version = m.feature_version"
        ).fetchone()
        if row is None:
            return None
        return CachedModel(row[0], row[1], json.loads(row[2]), json.loads(row[3]))

    # --- scores ---------------------------------------------------------------------------

    def add_scores(
        self, rows: pd.DataFrame, *, model_version: str, horizon_hours: float, drift: str
    ) -> int:
        """Keep score rows (machine_id, ts, p_fail, rul, rul_low, top_features); a row already
        kept for (machine, ts, version) stays. Returns the number of new rows."""
        ts_us = pd.DatetimeIndex(pd.to_datetime(rows["ts"], utc=True)).as_unit("us").asi8
        params = [
            (int(m), int(t), model_version, float(horizon_hours), float(p), float(r), float(lo),
             str(top), drift)
            for m, t, p, r, lo, top in zip(
                rows["machine_id"], ts_us, rows["p_fail"], rows["rul"], rows["rul_low"],
                rows["top_features"], strict=True,
            )
        ]  # fmt: skip
        with self._tx() as conn:
            before = conn.total_changes
            conn.executemany(
                "INSERT OR IGNORE INTO scores (machine_id, ts_us, model_version, horizon_hours,"
                " p_fail, rul, rul_low, top_features, drift) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params,
            )
            return conn.total_changes - before

    def scores(
        self,
        *,
        unsynced: bool = False,
        since_us: int | None = None,
        model_version: str | None = None,
    ) -> pd.DataFrame:
        """Kept scores (machine_id, ts, model_version, horizon_hours, p_fail, rul, rul_low,
        top_features, drift), oldest first; only unsynced ones, those after ``since_us`` or
        of ``model_version`` when asked."""
        clauses: list[str] = []
        params: list[int | str] = []
        if unsynced:
            clauses.append("synced = 0")
        if since_us is not None:
            clauses.append("ts_us > ?")
            params.append(since_us)
        if model_version is not None:
            clauses.append("model_version = ?")
            params.append(model_version)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._conn.execute(
            "SELECT machine_id, ts_us, model_version, horizon_hours, p_fail, rul, rul_low,"
            f" top_features, drift FROM scores{where} ORDER BY ts_us, machine_id",
            params,
        ).fetchall()
        frame = pd.DataFrame(
            rows,
            columns=[
                "machine_id", "ts_us", "model_version", "horizon_hours", "p_fail", "rul",
                "rul_low", "top_features", "drift",
            ],
        )  # fmt: skip
        ts = pd.to_datetime(frame.pop("ts_us").astype("int64"), unit="us", utc=True)
        frame.insert(1, "ts", ts)
        return frame

    def mark_synced(self, keys: list[tuple[int, int, str]]) -> None:
        """Mark (machine_id, ts_us, model_version) rows as stored centrally."""
        with self._tx() as conn:
            conn.executemany(
                "UPDATE scores SET synced = 1 WHERE machine_id = ? AND ts_us = ?"
                " AND model_version = ?",
                keys,
            )
