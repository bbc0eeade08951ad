"""The registry in PostgreSQL: round trip, listing, and the promotion rule on the same rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest

from features.frames import load_training_frame
from models.config import LightGBMParams
from models.errors import ModelsError
from models.promotion import Gates, Rescored, judge
from models.registry import (
    ModelNotFoundError,
    ModelStatus,
    NoActiveModelError,
    get_record,
    list_models,
    load_active,
    load_model,
    promote,
    save_candidate,
)
from models.training import TrainingResult, train_model
from tests.models.test_training_plant import (
    T0,
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
def good(plant: Plant) -> TrainingResult:
    return train_model(plant.database, models_config(), feature_version=plant.feature_version)


@pytest.fixture(scope="module")
def weak(plant: Plant) -> TrainingResult:
    """Two stumps: ranks poorly and is badly calibrated next to the good model."""
    config = models_config(lightgbm=LightGBMParams(n_estimators=2, num_leaves=2, n_jobs=2))
    return train_model(plant.database, config, feature_version=plant.feature_version)


@pytest.fixture(autouse=True)
def empty_registry(plant: Plant) -> None:
    ensure_plant(plant)
    plant.database.execute("DELETE FROM risk_scores")
    plant.database.execute("DELETE FROM models")


def test_round_trip_gives_identical_predictions(plant: Plant, good: TrainingResult) -> None:
    record = save_candidate(plant.database, good)
    assert record.status is ModelStatus.CANDIDATE
    assert record.version.startswith("mdl-") and record.feature_version == plant.feature_version
    assert record.metrics["classifier"]["roc_auc"] == good.metrics["classifier"]["roc_auc"]
    assert record.validation == good.validation
    assert (record.trained_from, record.trained_to) == (good.trained_from, good.trained_to)
    loaded = load_model(plant.database, record.version)
    X, _ = load_training_frame(plant.database, plant.feature_version, T0, plant.end)
    before, after = good.artifact.predict(X), loaded.artifact.predict(X)
    np.testing.assert_array_equal(before.p_fail, after.p_fail)
    np.testing.assert_array_equal(before.rul, after.rul)
    np.testing.assert_array_equal(before.rul_low, after.rul_low)
    matrix = good.artifact.matrix(X.iloc[:50])
    assert loaded.artifact.top_features(matrix, 3) == good.artifact.top_features(matrix, 3)
    assert loaded.artifact.to_json() == good.artifact.to_json()
    # saving the same model again is a no-op
    assert save_candidate(plant.database, good).version == record.version
    assert [r.version for r in list_models(plant.database)] == [record.version]


def test_unknown_versions_and_no_active_model_are_explained(plant: Plant) -> None:
    with pytest.raises(ModelNotFoundError, match="models list"):
        get_record(plant.database, "mdl-000000000000")
    with pytest.raises(ModelNotFoundError):
        promote(plant.database, "mdl-000000000000")
    with pytest.raises(NoActiveModelError, match="train"):
        load_active(plant.database)


def test_better_candidate_is_promoted_and_worse_refused(
    plant: Plant, good: TrainingResult, weak: TrainingResult
) -> None:
    db = plant.database
    weak_version = save_candidate(db, weak).version
    good_version = save_candidate(db, good).version
    assert weak_version != good_version

    # the comparison rule under test here; the gates have their own tests
    loose = Gates(coverage_band=0.2, brier_margin=0.0)
    first = promote(db, weak_version, gates=loose)
    assert first.promoted and first.previous is None and "first model" in first.reason

    better = promote(db, good_version, gates=loose)
    assert better.promoted, better.reason
    assert better.previous == weak_version and better.rows > 100
    assert better.candidate is not None and better.active is not None
    assert better.candidate["classifier"]["brier"] < better.active["classifier"]["brier"]
    assert get_record(db, weak_version).status is ModelStatus.RETIRED
    active = get_record(db, good_version)
    assert active.status is ModelStatus.ACTIVE and active.promoted_at is not None
    assert load_active(db).version == good_version

    worse = promote(db, weak_version, gates=loose)
    assert not worse.promoted and "Brier" in worse.reason
    assert get_record(db, good_version).status is ModelStatus.ACTIVE
    assert get_record(db, weak_version).status is ModelStatus.RETIRED

    again = promote(db, good_version, gates=loose)
    assert not again.promoted and again.reason == "already the active model"

    forced = promote(db, weak_version, force=True)
    assert forced.promoted and forced.reason.startswith("forced")
    assert load_active(db).version == weak_version
    assert get_record(db, good_version).status is ModelStatus.RETIRED
    statuses = [r.status for r in list_models(db)]
    assert statuses.count(ModelStatus.ACTIVE) == 1


def test_a_model_without_validation_metrics_is_saved_but_not_promoted(
    plant: Plant, good: TrainingResult
) -> None:
    unmeasured = replace(good, metrics={"classifier": None, "rul": None, "calibration": []})
    record = save_candidate(plant.database, unmeasured)
    decision = promote(plant.database, record.version)
    assert not decision.promoted and decision.previous is None
    assert "no validation metrics" in decision.reason
    assert get_record(plant.database, record.version).status is ModelStatus.CANDIDATE
    with pytest.raises(NoActiveModelError):
        load_active(plant.database)


def test_rule_tolerates_a_little_worse_rul_but_not_much() -> None:
    def scored(c_brier: float, a_brier: float, c_rmse: float, a_rmse: float) -> Rescored:
        return Rescored(
            {"classifier": {"brier": c_brier}, "rul": {"rmse": c_rmse}},
            {"classifier": {"brier": a_brier}, "rul": {"rmse": a_rmse}},
            100,
        )

    assert judge("c", "a", scored(0.05, 0.06, 10.4, 10.0), 0.05).promoted
    refused = judge("c", "a", scored(0.05, 0.06, 10.6, 10.0), 0.05)
    assert not refused.promoted and "RMSE" in refused.reason
    assert not judge("c", "a", scored(0.06, 0.06, 9.0, 10.0), 0.05).promoted  # ties keep
    assert not judge("c", "a", Rescored({}, {}, 0, "no rows"), 0.05).promoted


def test_promotion_refuses_when_the_active_model_changed_meanwhile(
    plant: Plant, good: TrainingResult, weak: TrainingResult
) -> None:
    from models.registry import _activate

    db = plant.database
    weak_version = save_candidate(db, weak).version
    good_version = save_candidate(db, good).version
    promote(db, weak_version)
    with pytest.raises(ModelsError, match="changed"):
        _activate(db, good_version, expected=None)
    assert load_active(db).version == weak_version
