"""Which features pushed a prediction: LightGBM's SHAP contributions, top k per row.

LightGBM computes exact TreeSHAP values with ``pred_contrib=True``, so no extra dependency is
needed. Contributions are in the booster's raw units (log-odds for the risk classifier, cycles
or hours for RUL): they rank and sign the drivers for people; they are not probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from lightgbm import Booster

from models.errors import ModelInputError
from models.lgbm import aligned_matrix, check_fitted


@dataclass(frozen=True)
class Contribution:
    """One feature's push on one prediction, with the feature's value at that row."""

    feature: str
    value: float
    contribution: float

    def __post_init__(self) -> None:
        if not self.feature:
            raise ValueError("a contribution needs a feature name")


def contributions(estimator: object, X: pd.DataFrame) -> pd.DataFrame:
    """SHAP contributions per row and fit-time feature, plus ``bias`` (the expected value).

    ``estimator`` is a fitted :class:`~models.risk.FailureRiskClassifier` or
    :class:`~models.rul.RulRegressor` (anything with ``booster_`` and ``feature_names_in_``).
    Each row sums to the booster's raw prediction.
    """
    check_fitted(estimator, "feature_names_in_")
    columns = [str(c) for c in estimator.feature_names_in_]  # type: ignore[attr-defined]
    booster: Booster = estimator.booster_  # type: ignore[attr-defined]
    matrix = aligned_matrix(X, columns)
    raw = np.asarray(booster.predict(matrix, pred_contrib=True))
    return pd.DataFrame(raw, index=X.index, columns=[*columns, "bias"])


def top_contributions(
    estimator: object, X: pd.DataFrame, k: int = 5
) -> list[tuple[Contribution, ...]]:
    """The ``k`` features with the largest absolute contribution for each row, largest first.

    Ties are broken by fit-time column order, so the result is deterministic.
    """
    if k < 1:
        raise ModelInputError(f"k must be at least 1, got {k}")
    table = contributions(estimator, X).drop(columns="bias")
    columns = list(table.columns)
    values = table.to_numpy()
    k = min(k, len(columns))
    order = np.argsort(-np.abs(values), axis=1, kind="stable")[:, :k]
    features = aligned_matrix(X, columns)
    result: list[tuple[Contribution, ...]] = []
    for row, picks in enumerate(order):
        result.append(
            tuple(
                Contribution(columns[j], float(features[row, j]), float(values[row, j]))
                for j in picks
            )
        )
    return result
