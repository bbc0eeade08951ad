"""Every estimator passes the same contract: clone, pickle, seeds, column order, missing columns."""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from models.errors import ModelInputError, NotFittedError
from models.risk import FailureRiskClassifier
from models.rul import RulRegressor

FEATURES = ["vibration", "temperature", "noise"]


def _classifier(seed: int = 0) -> FailureRiskClassifier:
    return FailureRiskClassifier(n_estimators=40, seed=seed)


def _regressor(seed: int = 0) -> RulRegressor:
    return RulRegressor(n_estimators=40, seed=seed)


def _fit_classifier(est: Any, data: pd.DataFrame) -> Any:
    return est.fit(data[FEATURES], data["failing"], groups=data["machine"])


def _fit_regressor(est: Any, data: pd.DataFrame) -> Any:
    return est.fit(data[FEATURES], data["rul"])


def _outputs_classifier(est: Any, X: pd.DataFrame) -> np.ndarray:
    return est.predict_proba(X)


def _outputs_regressor(est: Any, X: pd.DataFrame) -> np.ndarray:
    return np.column_stack([est.predict(X), est.predict_low(X)])


CASES = [
    pytest.param(_classifier, _fit_classifier, _outputs_classifier, id="FailureRiskClassifier"),
    pytest.param(_regressor, _fit_regressor, _outputs_regressor, id="RulRegressor"),
]
Make = Callable[..., Any]


@pytest.mark.parametrize(("make", "fit", "outputs"), CASES)
def test_clone_keeps_params_and_drops_state(
    make: Make, fit: Make, outputs: Make, plant: pd.DataFrame
) -> None:
    fitted = fit(make(seed=3), plant)
    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "feature_names_in_")
    with pytest.raises(NotFittedError):
        outputs(copy, plant[FEATURES])


@pytest.mark.parametrize(("make", "fit", "outputs"), CASES)
def test_pickle_round_trip_predicts_the_same(
    make: Make, fit: Make, outputs: Make, plant: pd.DataFrame
) -> None:
    fitted = fit(make(), plant)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(
        outputs(restored, plant[FEATURES]), outputs(fitted, plant[FEATURES])
    )


@pytest.mark.parametrize(("make", "fit", "outputs"), CASES)
def test_same_seed_same_result(make: Make, fit: Make, outputs: Make, plant: pd.DataFrame) -> None:
    first = outputs(fit(make(seed=5), plant), plant[FEATURES])
    second = outputs(fit(make(seed=5), plant), plant[FEATURES])
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(("make", "fit", "outputs"), CASES)
def test_column_order_does_not_matter(
    make: Make, fit: Make, outputs: Make, plant: pd.DataFrame
) -> None:
    fitted = fit(make(), plant)
    reordered = plant[list(reversed(FEATURES))]
    np.testing.assert_array_equal(outputs(fitted, reordered), outputs(fitted, plant[FEATURES]))
    with_extra = plant[[*FEATURES, "t"]]
    np.testing.assert_array_equal(outputs(fitted, with_extra), outputs(fitted, plant[FEATURES]))


@pytest.mark.parametrize(("make", "fit", "outputs"), CASES)
def test_missing_column_is_handled_as_nan(
    make: Make, fit: Make, outputs: Make, plant: pd.DataFrame
) -> None:
    fitted = fit(make(), plant)
    without = outputs(fitted, plant[["vibration", "noise"]])
    as_nan = outputs(fitted, plant[FEATURES].assign(temperature=np.nan))
    assert without.shape[0] == len(plant)
    assert np.isfinite(without).all()
    np.testing.assert_array_equal(without, as_nan)


@pytest.mark.parametrize(("make", "fit", "outputs"), CASES)
def test_rejects_non_frames(make: Make, fit: Make, outputs: Make, plant: pd.DataFrame) -> None:
    fitted = fit(make(), plant)
    with pytest.raises(ModelInputError, match="DataFrame"):
        outputs(fitted, plant[FEATURES].to_numpy())
