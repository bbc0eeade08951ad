"""Scratch databases for benchmarks: created next to a configured one, migrated, dropped after.

Benchmarks write millions of synthetic rows; doing it in a database of their own keeps them
out of a real plant's tables and makes every run start from the same empty state.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from millwright.core.storage.database import Database
from millwright.core.storage.migrate import upgrade


@contextmanager
def scratch_database(url: str, purpose: str = "bench") -> Iterator[Database]:
    """A fresh, migrated database on ``url``'s server, dropped afterwards."""
    name = f"mw_{purpose}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(url)
    params["dbname"] = name
    database = Database(make_conninfo("", **params), min_size=1, max_size=4)
    try:
        upgrade(database)
        yield database
    finally:
        database.close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
