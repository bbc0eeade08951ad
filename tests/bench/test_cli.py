"""`millwright bench …` through the root CLI (commands registered by `bench.cli`)."""

import json

import pytest
from typer.testing import CliRunner

from millwright.app.cli import app

runner = CliRunner()


def test_bench_ingest_json(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", database_url)
    result = runner.invoke(app, ["bench", "ingest", "--rows", "20000", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["inserted"] == 20000
    assert figures["resend_inserted"] == 0
    assert {"writer_rows_per_s", "copy_rows_per_s", "ratio"} <= figures.keys()
