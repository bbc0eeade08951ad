"""The pool survives a PostgreSQL restart: the first call after it is back works."""

import pytest

from millwright.core.storage import DatabaseUnavailable
from millwright.core.storage.database import Database
from tests.support.postgres_proc import PrivatePostgres


def test_pool_recovers_after_restart(private_postgres: PrivatePostgres) -> None:
    database = Database(private_postgres.url, min_size=2, max_size=2, timeout=5)
    try:
        assert database.execute("SELECT 1") == [(1,)]
        private_postgres.stop("immediate")
        with pytest.raises(DatabaseUnavailable):
            database.execute("SELECT 1")
        private_postgres.start()
        assert database.execute("SELECT 2") == [(2,)]
        assert database.execute("SELECT 3") == [(3,)]
    finally:
        database.close()
