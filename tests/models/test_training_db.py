"""Training from the database on the simulated plant: held out honestly, good, reproducible."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from features.frames import load_training_frame
from millwright.core.storage import Database
from models.errors import ModelInputError
from models.holdout import classifier_rows, rul_rows, split
from models.training import TrainingResult, train_model
from tests.models.test_training_plant import (
    T0,
    Plant,
    build_plant,
    ensure_plant,
    models_config,
)


@pytest.fixture(scope="module")
def trained(database_url: str) -> Iterator[tuple[Plant, TrainingResult]]:
    from tests.conftest import truncate_all

    truncate_all(database_url)
    database = Database(database_url, min_size=1, max_size=4)
    try:
        plant = build_plant(database)
        yield plant, train_model(database, models_config(), feature_version=plant.feature_version)
    finally:
        database.close()


def test_classifier_ranks_well_and_the_quantile_covers_its_share(
    trained: tuple[Plant, TrainingResult],
) -> None:
    _, result = trained
    clf, rul = result.metrics["classifier"], result.metrics["rul"]
    print(result.metrics)
    assert clf["roc_auc"] > 0.9
    assert clf["brier"] < 0.12
    assert clf["positives"] > 20
    assert 0.8 <= rul["coverage"] <= 0.995  # nominal: 90 % of truths at or above rul_low
    assert 0.8 <= rul["coverage_below_cap"] <= 0.995 and rul["rows_below_cap"] > 100
    assert rul["rmse"] < 8.0  # hours; targets capped at 72 h, lives of 72-144 h
    table = result.metrics["calibration"]
    assert sum(row["rows"] for row in table) == clf["rows"]
    assert result.metrics["training"]["rows_classifier"] > 1000


def test_validation_holds_out_whole_machines_after_the_training_rows(
    trained: tuple[Plant, TrainingResult],
) -> None:
    plant, result = trained
    ensure_plant(plant)
    held = set(result.validation.machines)
    assert 1 <= len(held) < len(plant.machine_ids) - 1
    assert result.trained_to < result.validation.start
    _, labels = load_training_frame(
        plant.database,
        plant.feature_version,
        T0,
        plant.end,
        observed_until=result.validation.observed_until,
    )
    train, validate, machines, cut = split(
        labels, validation_machines=0.25, validation_tail=0.3, embargo_hours=24.0, seed=0
    )
    assert set(machines) == held and cut == result.validation.start
    assert not (train & validate).any()
    train_machines = set(labels.loc[train, "machine_id"])
    assert not train_machines & held
    assert labels.loc[train, "ts"].max() < cut - pd.Timedelta(hours=24)


def test_same_data_and_seed_give_the_same_model(trained: tuple[Plant, TrainingResult]) -> None:
    plant, first = trained
    ensure_plant(plant)
    second = train_model(
        plant.database,
        models_config(),
        feature_version=plant.feature_version,
        observed_until=first.validation.observed_until,
    )
    assert second.artifact.digest() == first.artifact.digest()
    X, _ = load_training_frame(plant.database, plant.feature_version, T0, plant.end)
    a, b = first.artifact.predict(X), second.artifact.predict(X)
    np.testing.assert_array_equal(a.p_fail, b.p_fail)
    np.testing.assert_array_equal(a.rul_low, b.rul_low)


def test_predictions_are_in_range(trained: tuple[Plant, TrainingResult]) -> None:
    plant, result = trained
    ensure_plant(plant)
    X, _ = load_training_frame(plant.database, plant.feature_version, T0, plant.end)
    out = result.artifact.predict(X)
    assert ((out.p_fail >= 0) & (out.p_fail <= 1)).all()
    assert (out.rul_low >= 0).all() and (out.rul_low <= out.rul).all()


def test_censored_rows_are_left_out_or_capped() -> None:
    labels = pd.DataFrame(
        {
            "failed_within_h": pd.array([True, False, pd.NA, False], dtype="boolean"),
            "rul": [5.0, 50.0, np.nan, np.nan],
            "rul_lower": [5.0, 50.0, 10.0, 200.0],
            "censored": [False, False, True, True],
        }
    )
    known, y = classifier_rows(labels)
    assert known.tolist() == [True, True, False, True] and y[known].tolist() == [1, 0, 0]
    mask, target = rul_rows(labels, None)
    assert mask.tolist() == [True, True, False, False]
    mask, target = rul_rows(labels, 100.0)
    assert mask.tolist() == [True, True, False, True]
    assert target[mask].tolist() == [5.0, 50.0, 100.0]


def test_training_without_features_says_what_to_do(database: Database) -> None:
    with pytest.raises(ModelInputError, match="features run"):
        train_model(database, models_config(), feature_version="fd-000000000000")
