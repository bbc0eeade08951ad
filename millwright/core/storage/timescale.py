"""Everything TimescaleDB-specific, in one place, written as TimescaleDB documents it.

Detection happens once at start-up. With the extension, the time-series tables become
hypertables with compression and retention policies, and ``readings_1h`` is a continuous
aggregate. Without it the same tables stay ordinary tables and ``readings_1h`` is a plain
view over ``date_bin``, so readers never need to know which server they talk to.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from millwright.core.storage.database import Database

if TYPE_CHECKING:
    from millwright.core.settings import StorageConfig

log = logging.getLogger(__name__)

# table -> (time column, segment-by columns); chunk interval and policies come from settings.
HYPERTABLES: dict[str, tuple[str, str]] = {
    "readings": ("ts", "machine_id, sensor_id"),
    "features": ("ts", "machine_id, version"),
    "risk_scores": ("ts", "machine_id"),
}

_CAGG_SQL = """
CREATE MATERIALIZED VIEW IF NOT EXISTS readings_1h
WITH (timescaledb.continuous) AS
SELECT time_bucket(INTERVAL '1 hour', ts) AS bucket,
       machine_id, sensor_id,
       avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS n
FROM readings
GROUP BY bucket, machine_id, sensor_id
WITH NO DATA
"""

_PLAIN_VIEW_SQL = """
CREATE OR REPLACE VIEW readings_1h AS
SELECT date_bin(INTERVAL '1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket,
       machine_id, sensor_id,
       avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS n
FROM readings
GROUP BY bucket, machine_id, sensor_id
"""


def timescale_available(database: Database) -> bool:
    """Create the extension when the role may; report whether it is active."""
    with database.connection() as conn:
        rows = conn.execute(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        ).fetchall()
        if not rows:
            return False
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
            conn.commit()
        except psycopg.Error as exc:
            conn.rollback()
            log.warning("timescaledb is installed but could not be created: %s", exc)
        found = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        return bool(found.fetchall())


def setup_timescale(database: Database, storage: StorageConfig) -> bool:
    """Apply hypertables, compression, retention and the continuous aggregate when available.

    Idempotent: tables already converted are left as they are; policies are replaced so
    changed settings take effect. Returns whether TimescaleDB is active.
    """
    if not timescale_available(database):
        database.execute(_PLAIN_VIEW_SQL)
        return False
    chunk = f"{storage.chunk_interval_hours} hours"
    compress_after = f"{storage.compress_after_days} days"
    retention = f"{storage.retention_days} days"
    with database.connection() as conn:
        existing = {
            row[0]
            for row in conn.execute(
                "SELECT hypertable_name FROM timescaledb_information.hypertables"
            )
        }
        for table, (time_column, segment_by) in HYPERTABLES.items():
            ident = sql.Identifier(table)
            if table not in existing:
                conn.execute(
                    sql.SQL(
                        "SELECT create_hypertable({table}, by_range({col}, %s::interval),"
                        " migrate_data => true)"
                    ).format(table=sql.Literal(table), col=sql.Literal(time_column)),
                    (chunk,),
                )
                conn.execute(
                    sql.SQL(
                        "ALTER TABLE {table} SET (timescaledb.compress,"
                        " timescaledb.compress_segmentby = {seg},"
                        " timescaledb.compress_orderby = {order})"
                    ).format(
                        table=ident,
                        seg=sql.Literal(segment_by),
                        order=sql.Literal(f"{time_column} DESC"),
                    )
                )
            conn.execute(
                "SELECT add_compression_policy(%s, compress_after => %s::interval,"
                " if_not_exists => true)",
                (table, compress_after),
            )
        conn.execute("SELECT remove_retention_policy('readings', if_exists => true)")
        conn.execute(
            "SELECT add_retention_policy('readings', drop_after => %s::interval)", (retention,)
        )
        conn.commit()
        conn.autocommit = True  # continuous aggregates cannot be created in a transaction
        try:
            conn.execute(_CAGG_SQL)
            conn.execute(
                "SELECT add_continuous_aggregate_policy('readings_1h',"
                " start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour',"
                " schedule_interval => INTERVAL '30 minutes', if_not_exists => true)"
            )
        finally:
            conn.autocommit = False
    return True
