"""The feature store: versions, feature rows, watermarks and baselines in PostgreSQL.

Rows go in with binary COPY straight into ``features`` when none of them exists yet (the
common case for a job moving forward); if one does, the batch is retried through a staging
table with ``ON CONFLICT DO NOTHING``, so re-running a job or overlapping backfills never
duplicates a row and the count of new rows is exact. Watermarks move in the same
transaction as the rows they cover.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from features.baselines import Baselines
from features.binary import decode_rows, encode_rows
from features.definitions import FeatureDefinition
from features.errors import FeaturesError, UnknownVersionError, VersionConflictError
from features.machine_events import to_us
from millwright.core.storage import Database

log = logging.getLogger(__name__)

_REGISTER = (
    "INSERT INTO feature_versions (version, names, definition) VALUES (%s, %s, %s)"
    " ON CONFLICT (version) DO NOTHING"
)
_NAMES = "SELECT names, definition FROM feature_versions WHERE version = %s"
_VERSIONS = """
SELECT v.version, cardinality(v.names), v.created_at,
       (SELECT count(*) FROM feature_watermarks w WHERE w.version = v.version),
       (SELECT max(computed_through) FROM feature_watermarks w WHERE w.version = v.version)
FROM feature_versions v ORDER BY v.created_at, v.version
"""
_WATERMARKS = (
    "SELECT machine_id, computed_through FROM feature_watermarks"
    " WHERE version = %(version)s AND (%(all)s OR machine_id = ANY(%(machines)s))"
)
_ADVANCE = """
INSERT INTO feature_watermarks (machine_id, version, computed_through)
SELECT m, %(version)s, t FROM unnest(%(machines)s::int[], %(through)s::timestamptz[]) AS u(m, t)
ON CONFLICT (machine_id, version) DO UPDATE
SET computed_through = greatest(feature_watermarks.computed_through, EXCLUDED.computed_through),
    updated_at = now()
"""
_COPY_IN = 'COPY {table} (ts, machine_id, version, "values") FROM STDIN (FORMAT BINARY)'
_STAGE = (
    "CREATE TEMP TABLE IF NOT EXISTS features_staging"
    ' (ts timestamptz, machine_id integer, version text, "values" double precision[])'
    " ON COMMIT DELETE ROWS"
)
_MERGE = (
    'INSERT INTO features (ts, machine_id, version, "values")'
    ' SELECT ts, machine_id, version, "values" FROM features_staging ON CONFLICT DO NOTHING'
)
_READ = """
COPY (SELECT machine_id, ts, "values" FROM features
      WHERE version = %(version)s AND ts >= %(start)s AND ts <= %(end)s
        AND (%(all)s OR machine_id = ANY(%(machines)s))
      ORDER BY machine_id, ts) TO STDOUT (FORMAT BINARY)
"""
_LATEST = """
COPY (SELECT m.id, f.ts, f."values" FROM machines m
      CROSS JOIN LATERAL (
          SELECT ts, "values" FROM features
          WHERE machine_id = m.id AND version = %(version)s ORDER BY ts DESC LIMIT 1) f
      WHERE %(all)s OR m.id = ANY(%(machines)s)
      ORDER BY m.id) TO STDOUT (FORMAT BINARY)
"""
_BASELINES = """
SELECT machine_id, started_at, mean, std, count FROM feature_baselines
WHERE version = %(version)s AND machine_id = ANY(%(machines)s)
ORDER BY machine_id, started_at
"""
_SAVE_BASELINE = """
INSERT INTO feature_baselines (machine_id, version, started_at, mean, std, count)
VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING
"""


def _us_to_datetimes(us: np.ndarray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(us.astype("datetime64[us]"), tz="UTC")


class FeatureStore:
    """Reads and writes the feature tables of one database."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._names: dict[str, tuple[str, ...]] = {}

    # --- versions ------------------------------------------------------------------------

    def register(self, definition: FeatureDefinition) -> str:
        """Record the definition under its version (idempotent); returns the version."""
        version, names = definition.version, definition.names
        with self._database.connection() as conn:
            conn.execute(_REGISTER, (version, list(names), Jsonb(definition.to_json())))
            stored = conn.execute(_NAMES, (version,)).fetchone()
        if stored is None or tuple(stored[0]) != names:
            raise VersionConflictError(
                f"feature version {version} is stored with different names; bump "
                "features.definitions.FORMULA_REVISION when the formulas change"
            )
        self._names[version] = names
        return version

    def definition(self, version: str) -> FeatureDefinition:
        """The definition stored for ``version``."""
        rows = self._database.execute(_NAMES, (version,))
        if not rows:
            raise UnknownVersionError(
                f"feature version {version!r} is unknown; see `millwright features show`"
            )
        return FeatureDefinition.from_json(rows[0][1])

    def names(self, version: str) -> tuple[str, ...]:
        if version not in self._names:
            rows = self._database.execute(_NAMES, (version,))
            if not rows:
                raise UnknownVersionError(
                    f"feature version {version!r} is unknown; see `millwright features show`"
                )
            self._names[version] = tuple(rows[0][0])
        return self._names[version]

    def versions(self) -> pd.DataFrame:
        """version, features, created_at, machines (with a watermark), computed_through."""
        rows = self._database.execute(_VERSIONS)
        return pd.DataFrame(
            rows, columns=["version", "features", "created_at", "machines", "computed_through"]
        )

    # --- watermarks ----------------------------------------------------------------------

    def watermarks(
        self, version: str, machine_ids: Sequence[int] | None = None
    ) -> dict[int, datetime]:
        """machine -> last instant computed for ``version`` (machines never run are absent)."""
        params = {
            "version": version,
            "all": machine_ids is None,
            "machines": list(machine_ids or []),
        }
        return {int(m): ts for m, ts in self._database.execute(_WATERMARKS, params)}

    # --- rows ----------------------------------------------------------------------------

    def write(
        self,
        version: str,
        frame: pd.DataFrame,
        *,
        through: Mapping[int, datetime] | None = None,
    ) -> int:
        """Insert feature rows (machine_id, ts, then the version's names); existing
        (machine, version, ts) rows are kept. Advances the watermarks in ``through`` in the
        same transaction. Returns the number of new rows."""
        names = self.names(version)
        if list(frame.columns[2:]) != list(names):
            raise FeaturesError(
                f"feature frame columns do not match version {version}'s {len(names)} names"
            )
        payload = encode_rows(
            to_us(frame["ts"]),
            frame["machine_id"].to_numpy(dtype=np.int64),
            version,
            frame.iloc[:, 2:].to_numpy(dtype=np.float64),
        )
        try:
            with self._database.connection() as conn, conn.transaction():
                written = self._insert(conn, version, payload, len(frame))
                if through:
                    conn.execute(
                        _ADVANCE,
                        {
                            "version": version,
                            "machines": [int(m) for m in through],
                            "through": list(through.values()),
                        },
                    )
            return written
        except psycopg.DatabaseError as exc:
            if isinstance(exc, psycopg.OperationalError):
                raise
            raise FeaturesError(f"writing features of version {version} failed: {exc}") from exc

    def _insert(
        self, conn: psycopg.Connection[Any], version: str, payload: bytes, rows: int
    ) -> int:
        """COPY straight into ``features`` under a savepoint (as fast as COPY gets); when a
        row already exists, roll back to it and merge through staging instead. Runs inside
        the caller's transaction."""
        if rows == 0:
            return 0
        try:
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(_COPY_IN.format(table="features")) as copy:
                    copy.write(payload)
                return rows
        except psycopg.errors.UniqueViolation:
            log.debug("feature rows of %s exist already; merging through staging", version)
        with conn.cursor() as cur:
            cur.execute(_STAGE)
            with cur.copy(_COPY_IN.format(table="features_staging")) as copy:
                copy.write(payload)
            cur.execute(_MERGE)
            return max(cur.rowcount, 0)

    def _copy_out(self, query: str, params: dict[str, Any]) -> bytes:
        chunks: list[bytes] = []
        with (
            self._database.connection() as conn,
            conn.cursor() as cur,
            cur.copy(query, params) as copy,
        ):
            for block in copy:
                chunks.append(bytes(block))
        return b"".join(chunks)

    def _frame(self, version: str, payload: bytes) -> pd.DataFrame:
        names = self.names(version)
        machine, ts, values = decode_rows(payload, len(names))
        frame = pd.DataFrame(values, columns=list(names))
        frame.insert(0, "ts", _us_to_datetimes(ts))
        frame.insert(0, "machine_id", machine)
        return frame

    def read(
        self,
        version: str,
        start: datetime,
        end: datetime,
        machine_ids: Sequence[int] | None = None,
    ) -> pd.DataFrame:
        """Rows with ``start <= ts <= end``: machine_id, ts, then the version's names."""
        params = {
            "version": version,
            "start": start,
            "end": end,
            "all": machine_ids is None,
            "machines": list(machine_ids or []),
        }
        return self._frame(version, self._copy_out(_READ, params))

    def latest(self, version: str, machine_ids: Sequence[int] | None = None) -> pd.DataFrame:
        """The newest row of each machine (machines without rows are absent)."""
        params = {
            "version": version,
            "all": machine_ids is None,
            "machines": list(machine_ids or []),
        }
        return self._frame(version, self._copy_out(_LATEST, params))

    # --- baselines -----------------------------------------------------------------------

    def baselines(self, version: str, machine_ids: Sequence[int], n_sensors: int) -> Baselines:
        rows = self._database.execute(
            _BASELINES, {"version": version, "machines": list(machine_ids)}
        )
        if not rows:
            return Baselines.empty(n_sensors)
        return Baselines(
            np.array([r[0] for r in rows], dtype=np.int64),
            to_us([r[1] for r in rows]).astype(np.int64),
            np.array([r[2] for r in rows], dtype=np.float64),
            np.array([r[3] for r in rows], dtype=np.float64),
            np.array([r[4] for r in rows], dtype=np.float64),
        )

    def save_baselines(self, version: str, baselines: Baselines) -> None:
        """Store computed baselines (existing ones are kept: a baseline never changes)."""
        if not len(baselines):
            return
        starts = _us_to_datetimes(baselines.start).to_pydatetime()
        params = [
            (int(m), version, s, mean.tolist(), std.tolist(), count.tolist())
            for m, s, mean, std, count in zip(
                baselines.machine_id,
                starts,
                baselines.mean,
                baselines.std,
                baselines.count,
                strict=True,
            )
        ]
        with self._database.connection() as conn, conn.cursor() as cur:
            cur.executemany(_SAVE_BASELINE, params)
