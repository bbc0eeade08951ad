"""The connection pool every service uses, and how it is opened from settings.

The pool checks a connection before handing it out, so the first call after PostgreSQL
restarts gets a fresh connection instead of a dead one. Every connection attempt gives up after
``connect_timeout`` seconds, and :func:`connect_database` tries the server once (plus one retry
for a transient failure) before building anything, so a wrong URL is one sentence within
5 s, e.g. "cannot connect to 127.0.0.1:1 (connection refused) — check MILLWRIGHT_DATABASE_URL".
"""

from __future__ import annotations

import logging
import time
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

CONNECT_TIMEOUT_S = 2.0
"""How long one connection attempt may take (libpq ``connect_timeout``, whole seconds ≥ 2)."""
RETRY_AFTER_S = 0.5
"""The pause before the one retry of a transient connection failure."""

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
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 8,
        timeout: float = 30.0,
        connect_timeout: float = CONNECT_TIMEOUT_S,
    ) -> None:
        self.url = url
        self._pool = ConnectionPool(
            url,
            kwargs={"connect_timeout": max(2, round(connect_timeout))},
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


def check_reachable(
    url: str,
    *,
    hint: str = "check MILLWRIGHT_DATABASE_URL",
    connect_timeout: float = CONNECT_TIMEOUT_S,
) -> None:
    """Open and close one connection; a transient failure is retried once.

    Raises :class:`DatabaseUnavailable` with one sentence naming the server, the cause and
    ``hint``, after at most two attempts of ``connect_timeout`` seconds each.
    """
    for attempt in (1, 2):
        try:
            psycopg.connect(url, connect_timeout=max(2, round(connect_timeout))).close()
            return
        except psycopg.Error as exc:
            cause, transient = _connect_cause(str(exc), connect_timeout)
            if attempt == 2 or not transient:
                where = describe_server(url)
                raise DatabaseUnavailable(f"cannot connect to {where} ({cause}) — {hint}") from exc
            time.sleep(RETRY_AFTER_S)


def describe_server(url: str) -> str:
    """``host:port`` (or the socket directory) of a URL, never its password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "the configured database (the URL does not parse)"
    host = str(params.get("host") or "localhost")
    port = params.get("port") or 5432
    return f"{host}:{port}" if not host.startswith("/") else f"the socket in {host}"


def _connect_cause(message: str, timeout: float) -> tuple[str, bool]:
    """(what libpq's message means in a few words, whether a retry may help)."""
    text = message.lower()
    if "connection refused" in text:
        return "connection refused", True
    if "timeout expired" in text or "timed out" in text:
        return f"no answer within {max(2, round(timeout))} s", True
    if "no such file or directory" in text and "socket" in text:
        return "no server on that socket", True
    if "the database system is starting up" in text or "shutting down" in text:
        return "the server is starting or stopping", True
    for marker, cause in (
        ("does not exist", None),
        ("password authentication failed", "password authentication failed"),
        ("no password supplied", "a password is required"),
        ("no pg_hba.conf entry", "the server does not accept this client (pg_hba.conf)"),
        ("failed to resolve host", "unknown host name"),
        ("could not translate host name", "unknown host name"),
        ("ssl", "SSL negotiation failed"),
    ):
        if marker in text:
            if cause is None:  # 'database "x" does not exist' / 'role "y" does not exist'
                fatal = message.split("FATAL:", 1)[-1].strip().splitlines()[0]
                return fatal, False
            return cause, False
    first = message.splitlines()[0].split("failed:", 1)[-1].strip()
    return first.rstrip(".") or "connection failed", True


def connect_database(storage: StorageConfig) -> tuple[Database, EmbeddedPostgres | None]:
    """Connect to the configured database, or start the embedded one; migrates nothing."""
    from millwright.core.embedded import EmbeddedPostgres

    embedded: EmbeddedPostgres | None = None
    url = storage.database_url
    if url is None:
        embedded = EmbeddedPostgres(storage.data_dir / "postgres")
        url = embedded.start()
        log.info("started embedded PostgreSQL at %s", embedded.data_dir)
    else:
        check_reachable(url)  # a wrong URL: one sentence within 5 s, before any pool
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
