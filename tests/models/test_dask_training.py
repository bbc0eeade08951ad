"""``train --dask``: lightgbm.dask on a real distributed.LocalCluster with two workers.

Distributed boosting bins and splits on each worker's rows, so the model is close to, not
identical with, the single-process one. Stated tolerance on the held-out machines:
ROC-AUC and PR-AUC within 0.01, Brier score within 0.005, RUL RMSE within 5 % and the low
quantile's coverage within 0.02 (measured: differences of 2e-6, 7e-5, 5e-4, 0.4 % and 0.001).
"""

from __future__ import annotations

from collections.abc import Iterator

import distributed
import pytest

from millwright.core.storage import Database
from models import registry
from models.training import train_model
from tests.models.test_training_plant import Plant, build_plant, models_config


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local.scheduler_address


@pytest.fixture(scope="module")
def plant(database_url: str) -> Iterator[Plant]:
    from tests.conftest import truncate_all

    truncate_all(database_url)
    database = Database(database_url, min_size=1, max_size=4)
    try:
        yield build_plant(database)
    finally:
        database.close()


@pytest.mark.slow  # a two-process LocalCluster: about 40 s
def test_dask_training_matches_single_process_and_is_promoted(plant: Plant, cluster: str) -> None:
    from models.dask_training import train_model_dask

    config = models_config(lightgbm={"n_estimators": 80, "num_leaves": 15, "n_jobs": 1})
    single = train_model(plant.database, config, feature_version=plant.feature_version)
    dask = train_model_dask(plant.database, config, cluster, feature_version=plant.feature_version)
    a, b = single.metrics, dask.metrics
    print("single", a["classifier"], a["rul"])
    print("dask", b["classifier"], b["rul"])
    assert b["training"]["rows"] == a["training"]["rows"]  # same rows, same split
    assert dask.validation.machines == single.validation.machines
    for name, tolerance in (("roc_auc", 0.01), ("pr_auc", 0.01), ("brier", 0.005)):
        assert b["classifier"][name] == pytest.approx(a["classifier"][name], abs=tolerance)
    assert b["rul"]["rmse"] == pytest.approx(a["rul"]["rmse"], rel=0.05)
    assert b["rul"]["coverage"] == pytest.approx(a["rul"]["coverage"], abs=0.02)
    # the stored model is ordinary LightGBM boosters: registry, promotion and scoring need no Dask
    record = registry.save_candidate(plant.database, dask)
    decision = registry.promote(plant.database, record.version, force=True)
    assert decision.promoted
    active = registry.load_active(plant.database)
    assert active.version == record.version
    assert type(active.artifact.classifier).__name__ == "Booster"


@pytest.mark.slow
def test_train_cli_with_dask_promotes(
    plant: Plant, cluster: str, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from typer.testing import CliRunner

    from millwright.app.cli import app

    monkeypatch.setenv("MILLWRIGHT_DATABASE_URL", database_url)
    monkeypatch.setenv("MILLWRIGHT_MODELS__LIGHTGBM__N_ESTIMATORS", "40")
    result = CliRunner().invoke(
        app,
        [
            *("train", "--dask", cluster, "--feature-version", plant.feature_version),
            *("--promote", "--force", "--json"),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.strip().splitlines()[-1])
    assert registry.load_active(plant.database).version == summary["version"]
