"""First-run errors are one sentence, exit code 2, said before any work: a refused or silent
database, a busy port, a demo already running in the data directory, a mistyped setting."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from millwright.app.demo.state import DemoDirectory
from millwright.app.settings import SettingsError, load_settings
from millwright.core.ports import PortInUse, bind_listener, choose_port
from millwright.core.storage.database import check_reachable
from millwright.core.storage.errors import DatabaseUnavailable

REFUSED_URL = "postgresql://postgres@127.0.0.1:1/millwright"


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "millwright", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_refused_database_is_one_line_and_exit_2() -> None:
    result = _cli("db", "status", env={"MILLWRIGHT_DATABASE_URL": REFUSED_URL})
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "millwright: cannot connect to 127.0.0.1:1 (connection refused)"
        " — check MILLWRIGHT_DATABASE_URL"
    ]


def test_refused_database_stops_the_demo_before_any_work(tmp_path: Path) -> None:
    result = _cli("demo", "--data-dir", str(tmp_path), env={"MILLWRIGHT_DATABASE_URL": REFUSED_URL})
    assert result.returncode == 2
    assert result.stderr.strip().endswith("(connection refused) — check MILLWRIGHT_DATABASE_URL")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "recording" not in result.stdout


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        for conn in held:
            conn.close()
        server.close()


def test_a_silent_server_gives_up_within_5_s(silent_server: int) -> None:
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable) as info:
        check_reachable(f"postgresql://postgres@127.0.0.1:{silent_server}/x")
    # two attempts of connect_timeout = 2 s and a 0.5 s pause: the bound is by construction
    assert time.monotonic() - started < 5.0
    assert str(info.value) == (
        f"cannot connect to 127.0.0.1:{silent_server} (no answer within 2 s)"
        " — check MILLWRIGHT_DATABASE_URL"
    )


def test_missing_database_is_named(postgres_admin_url: str) -> None:
    url = postgres_admin_url.rsplit("/", 1)[0] + "/mw_no_such_database"
    with pytest.raises(DatabaseUnavailable, match='database "mw_no_such_database" does not exist'):
        check_reachable(url)


def test_db_status_never_migrates(postgres_admin_url: str) -> None:
    name = "mw_status_empty"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        result = _cli("db", "status", env={"MILLWRIGHT_DATABASE_URL": url})
        assert "run `millwright db upgrade`" in result.stdout + result.stderr
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regclass('schema_version')").fetchone() == (None,)
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_busy_port_is_named_before_training(tmp_path: Path, database_url: str) -> None:
    holder = bind_listener("127.0.0.1", 0, what="test", option="")
    port = holder.getsockname()[1]
    try:
        result = _cli(
            "demo", "--data-dir", str(tmp_path), "--api-port", str(port),
            env={"MILLWRIGHT_DATABASE_URL": database_url},
        )  # fmt: skip
    finally:
        holder.close()
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"millwright: port {port} on 127.0.0.1 for the MES API is already in use"
        " (Address already in use); stop what holds it or choose another with --api-port"
    ]
    assert "recording" not in result.stdout and "training" not in result.stdout


def test_busy_default_port_is_replaced_and_said() -> None:
    holder = bind_listener("127.0.0.1", 0, what="test", option="")
    busy = holder.getsockname()[1]
    try:
        port, note = choose_port(None, busy, host="127.0.0.1", what="dashboard", option="--x")
        assert port != busy
        assert note == f"port {busy} is in use; the dashboard uses {port} (--x to choose)"
        with pytest.raises(PortInUse, match=f"port {busy} on 127.0.0.1 for the dashboard"):
            choose_port(busy, busy, host="127.0.0.1", what="dashboard", option="--x")
    finally:
        holder.close()


def test_web_names_its_busy_port(database_url: str) -> None:
    holder = bind_listener("127.0.0.1", 0, what="test", option="")
    port = holder.getsockname()[1]
    free = choose_port(None, port, host="127.0.0.1", what="x", option="")[0]
    try:
        result = _cli(
            "web", "--dashboard-port", str(port), "--api-port", str(free),
            env={"MILLWRIGHT_DATABASE_URL": database_url},
        )  # fmt: skip
    finally:
        holder.close()
    assert result.returncode == 2
    assert f"port {port} on 127.0.0.1 for the dashboard is already in use" in result.stderr
    assert "--dashboard-port" in result.stderr and "Traceback" not in result.stderr


HOLD_LOCK = """
import sys, time
from pathlib import Path
from millwright.app.demo.state import DemoDirectory
held = DemoDirectory(Path(sys.argv[1]))
held.lock()
print("locked", flush=True)
time.sleep(60)
"""


def test_second_demo_in_the_same_directory_refuses(tmp_path: Path) -> None:
    first = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == "locked"
        result = _cli("demo", "--data-dir", str(tmp_path))
        assert result.returncode == 2
        assert result.stderr.splitlines() == [
            f"millwright: a demo is already running in {tmp_path} (pid {first.pid});"
            " stop it or use --data-dir"
        ]
        assert first.poll() is None, "the first demo keeps running"
    finally:
        first.kill()
        first.wait()
    # a holder that died leaves no lock behind (the kernel drops it)
    directory = DemoDirectory(tmp_path)
    directory.lock()
    directory.unlock()


def test_unknown_setting_suggests_the_nearest(tmp_path: Path) -> None:
    config = tmp_path / "plant.toml"
    config.write_text("retention_dayz = 3\n[scheduler]\ntime_limt_s = 4\n")
    with pytest.raises(SettingsError) as info:
        load_settings(config)
    message = str(info.value)
    assert "retention_dayz (MILLWRIGHT_RETENTION_DAYZ): is not a setting; did you mean" in message
    assert "did you mean retention_days?" in message
    assert "did you mean time_limit_s?" in message
    assert "Extra inputs" not in message


def test_help_has_no_bool_metavars() -> None:
    result = _cli("sim", "--help")
    assert result.returncode == 0
    assert "<bool>" not in result.stdout
    assert "--record-events / --no-record-events" in result.stdout


def test_a_dying_child_is_one_line_naming_it_and_its_cause(
    tmp_path: Path, database_url: str
) -> None:
    from millwright.app.demo.services import ServiceGroup

    holder = bind_listener("127.0.0.1", 0, what="test", option="")
    port = holder.getsockname()[1]
    config = tmp_path / "demo.toml"
    config.write_text("")
    group = ServiceGroup(config, env={"MILLWRIGHT_DATABASE_URL": database_url}, log_dir=tmp_path)
    try:
        web = group.start("web", "web", "--api-port", str(port))
        assert web.process is not None
        web.process.wait(120)
        assert group.failed() == [web]
        assert web.describe_exit() == (
            f"the web service stopped (exit code 2): millwright: port {port} on 127.0.0.1 for"
            " the MES API is already in use (Address already in use); stop what holds it or"
            f" choose another with --api-port — log: {tmp_path / 'web.log'}"
        )
    finally:
        group.stop()
        holder.close()
