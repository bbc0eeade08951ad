"""The connection pool every service uses, and how it is opened from settings.

The pool checks a connection before handing it out, so the first call after PostgreSQL
restarts gets a fresh connection instead of a dead one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from millwright.core.storage.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from millwright.app.settings import Settings
    from millwright.core.embedded import EmbeddedPostgres

log = logging.getLogger(__name__)


class Database:
    """A psycopg connection pool plus what was detected about the server at start-up."""

    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 30.0
    ) -> None:
        self.url = url
        self._pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            check=ConnectionPool.check_connection,
            reconnect_timeout=0,
            open=True,
            name="millwright",
        )
        self.timescale = False

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """A pooled connection inside a transaction committed on success.

        Connection failures surface as :class:`DatabaseUnavailable`.
        """
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise DatabaseUnavailable(f"database unavailable: {exc}") from exc

    def execute(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows (empty when it returns none)."""
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def close(self) -> None:
        self._pool.close()


def connect_database(settings: Settings) -> tuple[Database, EmbeddedPostgres | None]:
    """Connect to the configured database, or start the embedded one; migrates nothing."""
    from millwright.core.embedded import EmbeddedPostgres

    embedded: EmbeddedPostgres | None = None
    url = settings.database_url
    if url is None:
        embedded = EmbeddedPostgres(settings.data_dir / "postgres")
        url = embedded.start()
        log.info("started embedded PostgreSQL at %s", embedded.data_dir)
    database = Database(url, min_size=settings.pool_min_size, max_size=settings.pool_max_size)
    return database, embedded


def open_database(settings: Settings) -> tuple[Database, EmbeddedPostgres | None]:
    """The database a service runs on, checked to be up to date with this code.

    A configured database must have been brought up by ``millwright db upgrade`` (its
    migrate step runs before any service); a service refuses to start otherwise
    (:class:`~millwright.core.storage.errors.SchemaBehind`). The embedded database belongs
    to this process alone, so it is upgraded here.
    """
    from millwright.core.storage.migrate import check_schema, upgrade
    from millwright.core.storage.timescale import TimescalePolicy

    database, embedded = connect_database(settings)
    policy = TimescalePolicy.from_settings(settings)
    try:
        if embedded is not None:
            upgrade(database, policy)
        else:
            database.timescale = check_schema(database, policy)
    except BaseException:
        database.close()
        if embedded is not None:
            embedded.stop()
        raise
    return database, embedded
