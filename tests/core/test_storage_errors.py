"""The storage boundary tells data errors from outages by SQLSTATE, on a real server."""

from __future__ import annotations

import random
import string
from collections.abc import Sequence

import psycopg
import pytest

from millwright.core.storage import (
    DatabaseUnavailable,
    DataRejected,
    translate_error,
)
from millwright.core.storage.database import Database
from tests.support.postgres_proc import free_port


def _error(database_url: str, sql: str, params: Sequence[object] | None = None) -> BaseException:
    with psycopg.connect(database_url) as conn:
        conn.execute("CREATE TEMP TABLE t (name text UNIQUE, n smallint)")
        try:
            conn.execute(sql, params)
        except Exception as exc:
            return exc
    raise AssertionError(f"{sql} did not fail")


def test_data_errors_are_data_rejected_with_their_sqlstate(database_url: str) -> None:
    rng = random.Random(0)
    long_name = "".join(rng.choice(string.ascii_letters) for _ in range(3000))
    cases = [
        ("INSERT INTO t (name) VALUES (%s)", (long_name,), "54000"),  # index row too large
        ("INSERT INTO t (n) VALUES (%s)", (100_000,), "22003"),  # numeric out of range
        ("INSERT INTO t (name) VALUES ('a'), ('a')", None, "23505"),  # unique violation
    ]
    for sql, params, state in cases:
        translated = translate_error(_error(database_url, sql, params))
        assert isinstance(translated, DataRejected), sql
        assert translated.sqlstate == state
        assert str(translated).endswith(f"(SQLSTATE {state})")
    nul = translate_error(_error(database_url, "INSERT INTO t (name) VALUES (%s)", ("a\x00",)))
    assert isinstance(nul, DataRejected) and nul.sqlstate is None
    surrogate = translate_error(
        _error(database_url, "INSERT INTO t (name) VALUES (%s)", ("P\ud800",))
    )
    assert isinstance(surrogate, DataRejected)


def test_connectivity_errors_are_unavailable() -> None:
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/x?connect_timeout=1"
    try:
        psycopg.connect(url)
    except psycopg.OperationalError as exc:
        assert isinstance(translate_error(exc), DatabaseUnavailable)
    shutdown = psycopg.errors.lookup("57P01")("terminating connection due to administrator")
    assert isinstance(translate_error(shutdown), DatabaseUnavailable)
    too_many = psycopg.errors.lookup("53300")("sorry, too many clients already")
    assert isinstance(translate_error(too_many), DatabaseUnavailable)
    database = Database(url, min_size=0, max_size=1, timeout=0.5)
    try:
        with pytest.raises(DatabaseUnavailable):
            database.execute("SELECT 1")
    finally:
        database.close()


def test_a_program_limit_is_not_an_outage_at_the_pool(database_url: str) -> None:
    """psycopg files SQLSTATE 54000 under OperationalError; the pool must not call it down."""
    database = Database(database_url, min_size=1, max_size=1)
    try:
        with pytest.raises(psycopg.errors.ProgramLimitExceeded) as raised:
            database.execute("SELECT array_fill(1, ARRAY[2000000000])")
        assert isinstance(translate_error(raised.value), DataRejected)
        assert database.execute("SELECT 1") == [(1,)]
    finally:
        database.close()
