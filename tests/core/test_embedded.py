"""The embedded default: starts, serves a database, and stops when its last user leaves —
even when an earlier user was killed without saying goodbye."""

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from millwright.core.embedded import EmbeddedPostgres

SCRIPT = """
import sys
from pathlib import Path
from millwright.core.embedded import EmbeddedPostgres
server = EmbeddedPostgres(Path(sys.argv[1]))
print(server.start(), flush=True)
server.stop()
"""


def test_embedded_server_stops_after_a_killed_user(tmp_path: Path) -> None:
    data = tmp_path / "pg"
    tmp_path.chmod(0o777)
    killed = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\n" + SCRIPT.split("server.stop()")[0]
         + "time.sleep(60)", str(data)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert killed.stdout is not None
    url = killed.stdout.readline().strip()
    psycopg.connect(url).close()
    killed.kill()
    killed.wait()
    # a later user reuses the running server and, being the last live one, stops it
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data)], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == url
    assert not (data / "postmaster.pid").exists()
    assert os.path.isdir(data)


def test_fresh_database_is_empty(tmp_path: Path) -> None:
    tmp_path.chmod(0o777)
    server = EmbeddedPostgres(tmp_path / "pg", database="demo")
    try:
        url = server.start()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE leftover (x int)")
        url = server.start(fresh=True)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regclass('leftover')").fetchone() == (None,)
    finally:
        server.stop()
