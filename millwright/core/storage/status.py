"""What ``millwright db status`` reports."""

from __future__ import annotations

from typing import Any

from millwright.core.storage.database import Database
from millwright.core.storage.migrate import current_version

MAIN_TABLES = (
    "machines",
    "sensors",
    "readings",
    "events",
    "features",
    "models",
    "risk_scores",
    "jobs",
    "operations",
    "schedules",
    "alerts",
    "webhook_deliveries",
    "dead_letters",
)


def database_status(database: Database) -> dict[str, Any]:
    """Schema version, TimescaleDB state, and estimated rows and total size per main table.

    Row counts come from the planner's statistics (exact counts of a billion readings would
    take minutes); hypertable sizes include their chunks.
    """
    tables = []
    for table in MAIN_TABLES:
        if database.timescale and table in {"readings", "features", "risk_scores"}:
            rows = database.execute(
                "SELECT coalesce(approximate_row_count(%s::regclass), 0),"
                " pg_size_pretty(coalesce(hypertable_size(%s::regclass), 0))",
                (table, table),
            )
        else:
            rows = database.execute(
                "SELECT CASE WHEN c.reltuples < 0 THEN (SELECT count(*) FROM pg_class WHERE false)"
                " ELSE c.reltuples::bigint END, pg_size_pretty(pg_total_relation_size(c.oid))"
                " FROM pg_class c WHERE c.oid = %s::regclass",
                (table,),
            )
        count, size = rows[0]
        if count == 0:
            exact = database.execute(
                "SELECT count(*) FROM (SELECT 1 FROM "  # small tables: exact, cheap
                + _quoted(table)
                + " LIMIT 100000) AS t"
            )
            count = exact[0][0]
        tables.append({"table": table, "rows": int(count), "size": size})
    return {
        "schema_version": current_version(database),
        "timescaledb": database.timescale,
        "tables": tables,
    }


def _quoted(table: str) -> str:
    if table not in MAIN_TABLES:
        raise ValueError(f"unknown table {table!r}.")
    return f'"{table}"'
