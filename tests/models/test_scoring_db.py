"""Scoring the latest features of the simulated plant into risk_scores."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import cast

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.frames import latest_features
from millwright.core.storage import Database
from models.attribution import PathAttribution
from models.drift import population_stability
from models.registry import RegisteredModel, load_model, promote, save_candidate
from models.scoring import Scorer, score_latest
from models.training import TrainingResult, train_model
from tests.models.test_training_plant import (
    MACHINES,
    Plant,
    ensure_plant,
    models_config,
    plant_in,
)


@pytest.fixture(scope="module")
def plant(database_url: str) -> Iterator[Plant]:
    with plant_in(database_url) as built:
        yield built


@pytest.fixture(scope="module")
def trained(plant: Plant) -> TrainingResult:
    return train_model(plant.database, models_config(), feature_version=plant.feature_version)


@pytest.fixture
def model(plant: Plant, trained: TrainingResult) -> RegisteredModel:
    """The trained model as the only, not yet active, registered model; no scores."""
    ensure_plant(plant)
    plant.database.execute("DELETE FROM risk_scores")
    plant.database.execute("DELETE FROM models")
    return load_model(plant.database, save_candidate(plant.database, trained).version)


@pytest.fixture
def active(plant: Plant, model: RegisteredModel) -> RegisteredModel:
    promote(plant.database, model.version, force=True)  # scoring tests need it active
    return model


def _live_machines(database: Database) -> int:
    """Machines whose newest reading is within `no_data_minutes` of the plant clock: the
    seeded plant's machines that failed and went silent are scored "no data"."""
    minutes = models_config().no_data_minutes
    rows = database.execute(
        "WITH last AS (SELECT machine_id, max(ts) AS ts FROM readings GROUP BY machine_id)"
        " SELECT count(*) FROM last"
        " WHERE ts >= (SELECT max(ts) FROM last) - %s * interval '1 minute'",
        (minutes,),
    )
    return int(rows[0][0])


def _scores(database: Database) -> pd.DataFrame:
    rows = database.execute(
        "SELECT machine_id, ts, model_version, horizon_hours, p_fail, rul, rul_low,"
        " top_features, drift FROM risk_scores ORDER BY machine_id"
    )
    return pd.DataFrame(
        rows,
        columns=[
            "machine_id", "ts", "model_version", "horizon_hours", "p_fail", "rul", "rul_low",
            "top_features", "drift",
        ],
    )  # fmt: skip


def test_scoring_writes_one_row_per_machine_once(plant: Plant, active: RegisteredModel) -> None:
    config = models_config(top_k=4, drift_min_rows=10)
    result = score_latest(plant.database, config)
    # a machine broken at the end of the history (no readings for an hour) has no data
    assert result.machines + len(result.no_data) == MACHINES
    assert result.written == result.machines and len(result.no_data) <= 3
    assert result.model_version == active.version
    assert set(result.stages) == {"read", "predict", "explain", "drift", "write"}
    scores = _scores(plant.database)
    latest = latest_features(plant.database, plant.feature_version)
    latest = latest[~latest["machine_id"].isin(result.no_data)].reset_index(drop=True)
    assert scores["machine_id"].tolist() == latest["machine_id"].tolist()
    assert (pd.to_datetime(scores["ts"], utc=True) == latest["ts"]).all()
    assert (scores["model_version"] == active.version).all()
    assert (scores["horizon_hours"] == 24.0).all()
    assert scores["p_fail"].between(0, 1).all()
    assert (scores["rul_low"] >= 0).all() and (scores["rul_low"] <= scores["rul"]).all()
    for top in scores["top_features"]:
        assert len(top) == 4
        assert set(top[0]) == {"feature", "contribution", "value"}
        strengths = [abs(t["contribution"]) for t in top]
        assert strengths == sorted(strengths, reverse=True)
    drift = scores["drift"].iloc[0]
    assert set(drift) == {"max_psi", "top", "rows", "major", "status"}
    assert drift["rows"] == result.machines and drift["status"] == "ok"
    assert drift["max_psi"] == drift["top"][0]["psi"]
    # with the default minimum population (200 rows) 30 machines are not enough for a PSI
    plant.database.execute("DELETE FROM risk_scores")
    default = score_latest(plant.database, models_config())
    assert default.max_psi is None
    assert _scores(plant.database)["drift"].iloc[0]["status"].startswith("not enough data")
    again = score_latest(plant.database, config)
    assert again.written == 0
    assert len(_scores(plant.database)) == result.machines


def test_scores_match_the_model_and_name_the_wear_sensors(
    plant: Plant, active: RegisteredModel
) -> None:
    result = score_latest(plant.database, models_config(drift_min_rows=10))
    scores = _scores(plant.database)
    latest = latest_features(plant.database, plant.feature_version)
    latest = latest[~latest["machine_id"].isin(result.no_data)].reset_index(drop=True)
    expected = active.artifact.predict(latest.drop(columns=["machine_id", "ts"]))
    np.testing.assert_allclose(scores["p_fail"], expected.p_fail)
    np.testing.assert_allclose(scores["rul_low"], expected.rul_low)
    riskiest = scores.sort_values("p_fail", ascending=False).iloc[0]
    assert riskiest["p_fail"] > 0.5  # some machine is always near the end of its life
    assert riskiest["top_features"][0]["feature"].split("__")[0] in {"vib", "temp"}
    # the drift summary is the per-feature PSI of the scored population
    matrix = active.artifact.matrix(latest.drop(columns=["machine_id", "ts"]))
    frame = pd.DataFrame(matrix, columns=list(active.artifact.feature_names))
    psi = population_stability(active.artifact.reference, frame)
    assert scores["drift"].iloc[0]["max_psi"] == pytest.approx(psi.max(), abs=1e-6)


def test_exact_shap_is_available_and_agrees_on_the_main_driver(
    plant: Plant, active: RegisteredModel
) -> None:
    latest = latest_features(plant.database, plant.feature_version)
    matrix = active.artifact.matrix(latest.drop(columns=["machine_id", "ts"]))
    path = active.artifact.top_features(matrix, 1, "path")
    shap = active.artifact.top_features(matrix, 1, "shap")
    # On healthy machines the main "driver" is whichever feature pulls risk down most, and the
    # two methods share that credit differently; what a maintenance lead reads is the driver of
    # an elevated risk, so the methods must agree where the main contribution raises it.
    raising = [
        (p[0], s[0])
        for p, s in zip(path, shap, strict=True)
        if cast(float, s[0]["contribution"]) > 0
    ]
    assert raising, "the plant has machines near the end of their life"
    same = np.mean([p["feature"] == s["feature"] for p, s in raising])
    assert same >= 0.7


def test_path_contributions_add_up_to_the_raw_score(plant: Plant, active: RegisteredModel) -> None:
    latest = latest_features(plant.database, plant.feature_version)
    matrix = active.artifact.matrix(latest.drop(columns=["machine_id", "ts"]))
    booster = active.artifact.classifier
    attribution = PathAttribution(booster)
    total = attribution.contributions(matrix).sum(axis=1) + attribution.bias
    np.testing.assert_allclose(total, booster.predict(matrix, raw_score=True), atol=1e-9)


def test_scorer_waits_for_a_model_and_follows_promotions(
    plant: Plant, model: RegisteredModel
) -> None:
    scorer = Scorer(plant.database, models_config())
    assert scorer.score() is None
    promote(plant.database, model.version, force=True)  # the gates have their own tests
    result = scorer.score()
    live = _live_machines(plant.database)
    assert 0 < live < MACHINES  # the seeded plant has machines that went silent
    assert result is not None and result.written == live
    assert len(result.no_data) == MACHINES - live
    assert scorer.score().written == 0  # type: ignore[union-attr]


def test_cli_train_list_show_promote_score(
    plant: Plant, model: RegisteredModel, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from millwright.app.cli import app

    plant.database.execute("DELETE FROM models")
    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", database_url)
    monkeypatch.setenv("MILLWRIGHT_FEATURES__CADENCE_MINUTES", "60")
    monkeypatch.setenv("MILLWRIGHT_FEATURES__WINDOWS_MINUTES", "[60, 360]")
    monkeypatch.setenv("MILLWRIGHT_FEATURES__BASELINE_HOURS", "6")
    monkeypatch.setenv("MILLWRIGHT_FEATURES__SENSORS", '["noise", "temp", "vib"]')
    monkeypatch.setenv("MILLWRIGHT_MODELS__RUL_CAP_HOURS", "72")
    monkeypatch.setenv("MILLWRIGHT_MODELS__LIGHTGBM__N_ESTIMATORS", "40")
    # A small plant: few held-out rows below the cap, so the coverage estimate is coarse.
    monkeypatch.setenv("MILLWRIGHT_MODELS__COVERAGE_BAND", "0.1")
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "--promote", "--json"])
    assert trained.exit_code == 0, trained.output
    payload = json.loads(trained.output.strip().splitlines()[-1])
    version = payload["version"]
    assert payload["promotion"]["promoted"], payload["promotion"]
    assert payload["metrics"]["classifier"]["roc_auc"] > 0.9

    listed = runner.invoke(app, ["models", "list"])
    assert version in listed.output and "active" in listed.output
    scored = runner.invoke(app, ["score", "--json"])
    assert scored.exit_code == 0, scored.output
    written = json.loads(scored.output.strip().splitlines()[-1])["written"]
    assert written == _live_machines(plant.database)
    shown = runner.invoke(app, ["models", "show", version])
    assert shown.exit_code == 0, shown.output
    assert plant.feature_version in shown.output and "max PSI" in shown.output
    assert "roc_auc" in shown.output and "trained on" in shown.output
    again = runner.invoke(app, ["models", "promote", version])
    assert again.exit_code == 0 and "already the active model" in again.output
    missing = runner.invoke(app, ["models", "show", "mdl-000000000000"])
    assert missing.exit_code == 1


def test_scorer_runs_on_a_cadence_until_stopped(plant: Plant, active: RegisteredModel) -> None:
    import threading

    stop = threading.Event()
    seen: list[int] = []

    def on_result(result: object) -> None:
        seen.append(result.written)  # type: ignore[attr-defined]
        if len(seen) == 2:
            stop.set()

    Scorer(plant.database, models_config()).run(0.01, stop=stop, on_result=on_result)
    assert seen == [_live_machines(plant.database), 0]
