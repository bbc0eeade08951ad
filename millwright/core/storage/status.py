"""What ``millwright db status`` reports."""

from __future__ import annotations

from typing import Any

from millwright.core.storage.database import Database
from millwright.core.storage.migrate import available_migrations, current_version
from millwright.core.storage.timescale import (
    TimescalePolicy,
    check_timescale,
    hypertable_names,
    hypertable_rows_and_size,
    policies,
    timescale_version,
)

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


def database_status(database: Database, policy: TimescalePolicy | None = None) -> dict[str, Any]:
    """Schema version, TimescaleDB state and policies, what ``db upgrade`` would still do,
    and estimated rows and total size per main table. Reads only.

    Row counts come from the planner's statistics (exact counts of a billion readings would
    take minutes); hypertable sizes include their chunks.
    """
    version = current_version(database)
    known = available_migrations()
    code_version = known[-1].version if known else 0
    ts_version = timescale_version(database)
    pending: list[str] = []
    hypertables: set[str] = set()
    if version < code_version:
        pending.append(f"migrations {version} -> {code_version}")
    else:
        plan = check_timescale(database, policy or TimescalePolicy())
        pending.extend(step.why for step in plan.steps)
        pending.extend(plan.notes)
    if ts_version is not None:
        hypertables = hypertable_names(database)
    tables = []
    for table in MAIN_TABLES:
        if not database.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))[0][0]:
            continue
        if table in hypertables:
            rows = [hypertable_rows_and_size(database, table)]
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
        "schema_version": version,
        "code_version": code_version,
        "timescaledb": bool(hypertables),
        "timescaledb_version": ts_version,
        "pending": list(dict.fromkeys(pending)),
        "policies": policies(database),
        "tables": tables,
    }


def _quoted(table: str) -> str:
    if table not in MAIN_TABLES:
        raise ValueError(f"unknown table {table!r}.")
    return f'"{table}"'
