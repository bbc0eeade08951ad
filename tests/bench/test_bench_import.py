"""`millwright bench import`: the importer and the writer alone on the same rows."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from millwright.app.cli import app


def test_bench_import_json(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["bench", "import", "--rows", "20000", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["writer_inserted"] == 20000
    assert figures["csv_imported"] == figures["parquet_imported"] == 20000
    assert figures["csv_rejected"] == figures["parquet_rejected"] == 0
    assert {"writer_rows_per_s", "csv_ratio", "parquet_ratio"} <= figures.keys()
