"""`db upgrade` does the whole set-up under one lock; services only check; status only reads.

Real PostgreSQL (without TimescaleDB) and real processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict
from typer.testing import CliRunner

from millwright.app.cli import app
from millwright.core.storage.database import Database
from millwright.core.storage.errors import SchemaBehind
from millwright.core.storage.migrate import (
    available_migrations,
    check_schema,
    current_version,
    upgrade,
)
from tests.conftest import _as_url

runner = CliRunner()


@pytest.fixture
def empty_url(postgres_admin_url: str) -> Iterator[str]:
    """A database of this test's own with nothing in it."""
    name = f"mw_setup_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(postgres_admin_url)
    params["dbname"] = name
    try:
        yield _as_url(params)
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _cli(url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MILLWRIGHT_DATABASE_URL": url}
    return subprocess.Popen(
        [sys.executable, "-m", "millwright", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _relkind(url: str, name: str) -> str | None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT relkind FROM pg_class WHERE relname = %s", (name,)).fetchone()
    return None if row is None else str(row[0])


def test_three_upgrades_at_once_then_three_services_at_once(empty_url: str) -> None:
    upgrades = [_cli(empty_url, "db", "upgrade") for _ in range(3)]
    outputs = [p.communicate(timeout=120)[0] for p in upgrades]
    assert [p.returncode for p in upgrades] == [0, 0, 0], outputs
    # the lock serialises them: one applies everything, the other two find nothing to do
    assert sum("applied 0001_core.sql" in out for out in outputs) == 1, outputs
    assert sum("already up to date" in out for out in outputs) == 2, outputs
    assert _relkind(empty_url, "readings_1h") == "v"

    services = [
        _cli(empty_url, "users", "add", f"user{i}", "--password", "correct-horse-battery")
        for i in range(3)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in services]
    assert [p.returncode for p in services] == [0, 0, 0], outputs
    with psycopg.connect(empty_url) as conn:
        users = conn.execute("SELECT username FROM users ORDER BY username").fetchall()
    assert users == [("user0",), ("user1",), ("user2",)]


def test_services_refuse_a_database_that_is_behind(empty_url: str) -> None:
    service = _cli(empty_url, "users", "add", "early", "--password", "correct-horse-battery")
    out = service.communicate(timeout=120)[0]
    assert service.returncode == 1
    assert "run `millwright db upgrade`" in out
    assert "schema is at version 0" in out
    database = Database(empty_url, min_size=1, max_size=2)
    try:
        assert current_version(database) == 0  # the refusal migrated nothing
        with pytest.raises(SchemaBehind, match="run `millwright db upgrade`"):
            check_schema(database)
        upgrade(database)
        with database.connection() as conn:
            conn.execute("DROP VIEW readings_1h")  # half set up: migrations done, view gone
        with pytest.raises(SchemaBehind, match=r"readings_1h plain view.*db upgrade"):
            check_schema(database)
        assert upgrade(database) == ["timescaledb: readings_1h plain view"]
        assert check_schema(database) is False
        assert upgrade(database) == []
    finally:
        database.close()


def test_db_status_never_migrates(empty_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", empty_url)
    result = runner.invoke(app, ["db", "status", "--json"])
    assert result.exit_code == 0, result.output
    status = json.loads(result.output.strip().splitlines()[-1])
    newest = available_migrations()[-1].version
    assert status["schema_version"] == 0
    assert status["code_version"] == newest
    assert status["pending"] == [f"migrations 0 -> {newest}"]
    assert status["tables"] == []
    assert _relkind(empty_url, "schema_version") is None

    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    text = runner.invoke(app, ["db", "status"])
    assert text.exit_code == 0, text.output
    assert f"schema version: {newest} (this code: {newest})" in text.output
    assert "timescaledb:    not available" in text.output
    assert "policies:       none (plain PostgreSQL)" in text.output
    assert "pending" not in text.output
    status = json.loads(runner.invoke(app, ["db", "status", "--json"]).output.splitlines()[-1])
    assert status["policies"] == [] and status["pending"] == []
    assert status["timescaledb"] is False
