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

from millwright.core.storage.errors import DatabaseUnavailable, DataRejected, StorageError

if TYPE_CHECKING:
    from millwright.core.embedded import EmbeddedPostgres
    from millwright.core.settings import StorageConfig

log = logging.getLogger(__name__)

# SQLSTATE classes (first two characters) and codes that mean "the server cannot work now":
# connection exceptions, insufficient resources, operator intervention (shutdown, crash,
# cannot connect now), system errors, and transaction conflicts that a retry resolves.
_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})
_UNAVAILABLE_CODES = frozenset({"40001", "40P01", "55P03", "25006"})
# ...and "this data can never be written": data exceptions, integrity violations, program
# limits (index row too large), and type mismatches of a value.
_DATA_CLASSES = frozenset({"22", "23", "54"})
_DATA_CODES = frozenset({"42804", "42P18", "0A000"})


def translate_error(exc: BaseException) -> StorageError | None:
    """The storage error an exception raised while talking to PostgreSQL stands for, or None
    when it is not a database matter (a bug in our code: let it propagate as it is).

    Decided by SQLSTATE class; psycopg errors without one (the driver refused to encode a
    value, or the connection broke before an answer) by what the driver says.
    """
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, PoolTimeout):
        return DatabaseUnavailable(f"database unavailable: {exc}")
    if isinstance(exc, UnicodeEncodeError):  # a lone surrogate cannot be sent as UTF-8
        return DataRejected(f"text is not valid Unicode: {exc}")
    if not isinstance(exc, psycopg.Error):
        return None
    state = exc.sqlstate
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if state is None:
        if isinstance(exc, psycopg.DataError):  # e.g. a NUL byte in text, refused client-side
            return DataRejected(first_line)
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return DatabaseUnavailable(f"database unavailable: {first_line}")
        return None
    if state[:2] in _UNAVAILABLE_CLASSES or state in _UNAVAILABLE_CODES:
        return DatabaseUnavailable(f"database unavailable ({state}): {first_line}")
    if state[:2] in _DATA_CLASSES or state in _DATA_CODES:
        return DataRejected(f"{first_line} (SQLSTATE {state})", state)
    return None


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

        A server that cannot work now surfaces as :class:`DatabaseUnavailable` (by SQLSTATE,
        see :func:`translate_error`); other errors propagate as psycopg raised them, so each
        caller decides what a refused statement means for it (the ingest writer turns them
        into :class:`DataRejected` and isolates the rows).
        """
        try:
            with self._pool.connection() as conn:
                yield conn
        except (psycopg.Error, PoolTimeout) as exc:
            translated = translate_error(exc)
            if isinstance(translated, DatabaseUnavailable):
                raise translated from exc
            raise

    def execute(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        """Run one statement and return its rows (empty when it returns none)."""
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def close(self) -> None:
        self._pool.close()


def connect_database(storage: StorageConfig) -> tuple[Database, EmbeddedPostgres | None]:
    """Connect to the configured database, or start the embedded one; migrates nothing."""
    from millwright.core.embedded import EmbeddedPostgres

    embedded: EmbeddedPostgres | None = None
    url = storage.database_url
    if url is None:
        embedded = EmbeddedPostgres(storage.data_dir / "postgres")
        url = embedded.start()
        log.info("started embedded PostgreSQL at %s", embedded.data_dir)
    database = Database(url, min_size=storage.pool_min_size, max_size=storage.pool_max_size)
    return database, embedded


def open_database(storage: StorageConfig) -> tuple[Database, EmbeddedPostgres | None]:
    """The database a service runs on, checked to be up to date with this code.

    A configured database must have been brought up by ``millwright db upgrade`` (its
    migrate step runs before any service); a service refuses to start otherwise
    (:class:`~millwright.core.storage.errors.SchemaBehind`). The embedded database belongs
    to this process alone, so it is upgraded here.
    """
    from millwright.core.storage.migrate import check_schema, upgrade
    from millwright.core.storage.timescale import TimescalePolicy

    database, embedded = connect_database(storage)
    policy = TimescalePolicy.from_settings(storage)
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
