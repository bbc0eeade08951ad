"""The connection pool every service uses, and how it is opened from settings.

The pool checks a connection before handing it out, so the first call after PostgreSQL
restarts gets a fresh connection instead of a dead one. Every connection attempt gives up after
``connect_timeout`` seconds, and :func:`open_database` tries the server once (plus one retry
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

from millwright.core.storage.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from millwright.app.settings import Settings
    from millwright.core.embedded import EmbeddedPostgres

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 2.0
"""How long one connection attempt may take (libpq ``connect_timeout``, whole seconds ≥ 2)."""
RETRY_AFTER_S = 0.5
"""The pause before the one retry of a transient connection failure."""


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


def open_database(
    settings: Settings, *, migrate: bool = True
) -> tuple[Database, EmbeddedPostgres | None]:
    """Connect to the configured database, or start the embedded one; then migrate it.

    The server is tried first (:func:`check_reachable`), so a wrong URL stops in seconds with
    one sentence. ``migrate=False`` opens the schema as it is (``db status`` never migrates).
    """
    from millwright.core.embedded import EmbeddedPostgres
    from millwright.core.storage.migrate import upgrade
    from millwright.core.storage.timescale import setup_timescale

    embedded: EmbeddedPostgres | None = None
    url = settings.database_url
    if url is None:
        embedded = EmbeddedPostgres(settings.data_dir / "postgres")
        url = embedded.start()
        log.info("started embedded PostgreSQL at %s", embedded.data_dir)
    else:
        check_reachable(url)
    database = Database(url, min_size=settings.pool_min_size, max_size=settings.pool_max_size)
    if migrate:
        upgrade(database)
        database.timescale = setup_timescale(database, settings)
    else:  # detect only: creating the extension is a change too
        rows = database.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        database.timescale = bool(rows)
    return database, embedded
