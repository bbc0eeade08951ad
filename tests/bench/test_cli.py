"""The ingest, features and scoring benches, small: through the root CLI where it has one."""

import json

import pytest
from typer.testing import CliRunner

from millwright.app.cli import app
from millwright.core.storage import Database
from tests.models.test_training_plant import models_config

runner = CliRunner()


def test_bench_ingest_json(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", database_url)
    result = runner.invoke(app, ["bench", "ingest", "--rows", "20000", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["inserted"] == 20000
    assert figures["resend_inserted"] == 0
    assert {"writer_rows_per_s", "copy_rows_per_s", "ratio"} <= figures.keys()
    # first pass copied straight in, the re-send went through staging, no server errors
    assert (figures["direct_copies"], figures["staged_copies"]) == (1, 1)
    assert figures["unexpected_conflicts"] == 0
    assert figures["hypertable"] is False  # plain PostgreSQL here


def test_bench_features_small(
    database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", database_url)
    monkeypatch.setenv("MILLWRIGHT_FEATURES__WINDOWS_MINUTES", "[60, 120]")
    result = runner.invoke(
        app, ["bench", "features", "--machines", "2", "--sensors", "3", "--days", "1.5", "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["readings"] == 2 * 3 * 2160
    assert figures["rerun_written"] == 0
    assert figures["incremental"]["written"] == 2
    assert figures["backfill_readings_per_s"] > 0 and figures["read_only_seconds"] > 0


def test_bench_scoring_small(database: Database, database_url: str) -> None:
    from bench.scoring import run_scoring_benchmark, summary_lines
    from models.config import LightGBMParams

    config = models_config(lightgbm=LightGBMParams(n_estimators=20, num_leaves=7, n_jobs=2))
    figures = run_scoring_benchmark(
        database_url, config, machines=50, sensors=2, repeats=1, training_rows=400
    )
    assert figures["machines"] == 50 and figures["written"] == 50
    # 26 per sensor, 5 per machine and a machine-wide dev_rms and its rate per window (3)
    assert figures["features"] == 2 * 26 + 5 + 3 * 2
    assert figures["bare_predict_seconds"] > 0 and figures["score_seconds"] > 0
    assert set(figures["stages"]) == {"read", "predict", "explain", "drift", "write"}
    assert "50 machines" in summary_lines(figures)[0]
