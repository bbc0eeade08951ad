"""Ordered plain-SQL migrations, recorded in ``schema_version``, safe to run twice.

``upgrade`` applies the SQL migrations and then the TimescaleDB set-up step
(:mod:`millwright.core.storage.timescale`) under one advisory lock, so concurrent upgrades
serialise and the second finds nothing to do. Services call :func:`check_schema` instead:
it reads, never writes, and refuses a database that is behind with "run `millwright db
upgrade`".
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from millwright.core.storage.database import Database
from millwright.core.storage.errors import MigrationError, SchemaBehind
from millwright.core.storage.timescale import TimescalePolicy, check_timescale, setup_timescale

log = logging.getLogger(__name__)

_LOCK_KEY = 0x4D494C4C  # "MILL"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def available_migrations() -> list[Migration]:
    """The migrations shipped with this code, in order."""
    found = []
    for entry in resources.files("millwright.core.storage.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text()))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a version number: {versions}")
    return found


def current_version(database: Database) -> int:
    """The highest applied migration, 0 for an empty database."""
    rows = database.execute(
        "SELECT coalesce(max(version), 0) FROM schema_version"
        if _has_version_table(database)
        else "SELECT 0"
    )
    return int(rows[0][0])


def _has_version_table(database: Database) -> bool:
    rows = database.execute("SELECT to_regclass('schema_version') IS NOT NULL")
    return bool(rows[0][0])


def upgrade(database: Database, policy: TimescalePolicy | None = None) -> list[str]:
    """Apply every migration not yet recorded, then the TimescaleDB set-up, under one lock.

    Returns what was done: migration names and one line per TimescaleDB step (empty when the
    database was already up to date). Sets ``database.timescale``.
    """
    applied: list[str] = []
    policy = policy or TimescalePolicy()
    with database.connection() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            conn.commit()
            done = {row[0] for row in conn.execute("SELECT version FROM schema_version")}
            known = available_migrations()
            newest_known = known[-1].version if known else 0
            if done and max(done) > newest_known:
                raise MigrationError(
                    f"the database schema is at version {max(done)}, newer than this code "
                    f"({newest_known}); upgrade Millwright"
                )
            for migration in known:
                if migration.version in done:
                    continue
                log.info("applying migration %s", migration.name)
                try:
                    with conn.transaction():
                        conn.execute(migration.sql.encode())
                        conn.execute(
                            "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                            (migration.version, migration.name),
                        )
                except psycopg.Error as exc:
                    raise MigrationError(f"migration {migration.name} failed: {exc}") from exc
                applied.append(migration.name)
            database.timescale, steps = setup_timescale(conn, policy)
            applied.extend(steps)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
            conn.commit()
    return applied


def check_schema(database: Database, policy: TimescalePolicy | None = None) -> bool:
    """Refuse a database that ``db upgrade`` has not brought up to this code; never writes.

    Raises :class:`SchemaBehind` when migrations or TimescaleDB set-up steps are pending;
    logs a warning when only policies differ from the settings. Returns whether TimescaleDB
    is active.
    """
    known = available_migrations()
    newest = known[-1].version if known else 0
    version = current_version(database)
    if version > newest:
        raise MigrationError(
            f"the database schema is at version {version}, newer than this code ({newest});"
            " upgrade Millwright"
        )
    if version < newest:
        raise SchemaBehind(
            f"the database schema is at version {version} but this code needs {newest}:"
            " run `millwright db upgrade`"
        )
    plan = check_timescale(database, policy or TimescalePolicy())
    if plan.setup_pending:
        raise SchemaBehind(
            f"the database set-up is incomplete ({plan.setup_pending[0].why}, "
            f"{len(plan.setup_pending)} step(s) pending): run `millwright db upgrade`"
        )
    for step in plan.tuning_pending:
        log.warning(
            "TimescaleDB policy differs from the settings (%s): run `millwright db upgrade`",
            step.why,
        )
    return plan.timescale
