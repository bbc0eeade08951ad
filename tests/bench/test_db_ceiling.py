"""``bench scale``'s database ceiling: K writer processes through the production writer."""

from __future__ import annotations

import pytest

from bench.db_ceiling import run_db_ceiling


@pytest.mark.slow  # spawns writer processes and scratch databases: about 20 s
def test_two_writers_store_every_row_once_and_report_cpu(postgres_admin_url: str) -> None:
    (run,) = run_db_ceiling(postgres_admin_url, rows=40_000, writers=[2])
    assert run["rows"] == run["inserted"] == run["stored"] == 40_000
    assert run["rows_per_s"] > 0
    assert run["cpu_s_per_1000_rows"]["writers"] > 0
    assert run["cpu_s_per_1000_rows"]["database"] > 0
    assert run["rows_per_s_per_database_core"] > 0
