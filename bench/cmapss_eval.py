"""The C-MAPSS benchmark: train on run-to-failure engines, score RUL at each test engine's end.

Two modes: the official triple (train, test, RUL files) and engine-grouped cross-validation of
a training file, which truncates held-out engines at random cycles as NASA made its test sets.
Both train the project's :class:`~models.rul.RulRegressor` on :mod:`bench.cmapss` features.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from bench.cmapss import CmapssFeaturizer, last_cycles, rul_target, truncate_units
from models.rul import RulRegressor
from models.validation import RulMetrics, group_splits, rul_metrics

log = logging.getLogger(__name__)

CMAPSS_PARAMS: dict[str, object] = {
    "n_estimators": 400,
    "learning_rate": 0.05,
    "num_leaves": 15,
    "min_child_samples": 40,
    "subsample": 0.8,
    "colsample_bytree": 0.5,
    "reg_lambda": 1.0,
}
"""Booster settings for C-MAPSS, chosen by engine-grouped cross-validation on FD001."""


@dataclass(frozen=True)
class CmapssResult:
    """Scores of one evaluation (official split, or the mean over CV folds)."""

    rmse: float
    phm08_score: float
    mae: float
    train_seconds: float
    engines: int
    folds: list[RulMetrics] = field(default_factory=list)


@dataclass
class CmapssModel:
    """A featurizer and a RUL regressor fitted together on training engines."""

    featurizer: CmapssFeaturizer
    regressor: RulRegressor

    def predict_last(self, frame: pd.DataFrame) -> np.ndarray:
        """Predicted RUL at the last observed cycle of every unit, in unit order."""
        features = self.featurizer.transform(frame)
        return self.regressor.predict(features.iloc[last_cycles(frame)])


def train(
    frame: pd.DataFrame, seed: int = 0, n_jobs: int = 1, n_estimators: int | None = None
) -> tuple[CmapssModel, float]:
    """Fit featurizer and regressor on run-to-failure engines; returns the seconds it took.

    ``n_estimators`` overrides the tuned number of boosting rounds (quick smoke runs).
    """
    started = time.perf_counter()
    featurizer = CmapssFeaturizer(seed=seed).fit(frame)
    features = featurizer.transform(frame)
    params = dict(CMAPSS_PARAMS)
    if n_estimators is not None:
        params["n_estimators"] = n_estimators
    regressor = RulRegressor(**params, quantile=None, seed=seed, n_jobs=n_jobs)  # type: ignore[arg-type]
    regressor.fit(features, rul_target(frame))
    return CmapssModel(featurizer, regressor), time.perf_counter() - started


def evaluate_official(
    train_frame: pd.DataFrame,
    test_frame: pd.DataFrame,
    true_rul: np.ndarray,
    seed: int = 0,
    n_jobs: int = 1,
    n_estimators: int | None = None,
) -> CmapssResult:
    """Train on the training file and score every test engine's last cycle."""
    model, seconds = train(train_frame, seed, n_jobs, n_estimators)
    metrics = rul_metrics(true_rul, model.predict_last(test_frame))
    return CmapssResult(
        metrics.rmse, metrics.phm08_score, metrics.mae, seconds, metrics.rows, [metrics]
    )


def cross_validate(
    frame: pd.DataFrame,
    n_splits: int = 5,
    seed: int = 0,
    n_jobs: int = 1,
    n_estimators: int | None = None,
    progress: Callable[[int, RulMetrics], None] | None = None,
) -> CmapssResult:
    """Engine-grouped K-fold: train on K-1 folds, truncate held-out engines, score their end.

    Every training engine is held out exactly once, so RMSE and PHM08 are computed over all
    held-out engines pooled — for FD001 that is 100 engines, the size of the official test set,
    which keeps the PHM08 sum comparable with published figures. ``train_seconds`` is the mean
    training time of a fold; per-fold metrics are in ``folds``.
    """
    units = frame["unit"].to_numpy()
    folds: list[RulMetrics] = []
    seconds: list[float] = []
    truths: list[np.ndarray] = []
    predictions: list[np.ndarray] = []
    for k, (train_rows, test_rows) in enumerate(group_splits(units, n_splits, seed)):
        train_frame = frame.iloc[train_rows].reset_index(drop=True)
        model, took = train(train_frame, seed, n_jobs, n_estimators)
        held_out, truth = truncate_units(frame.iloc[test_rows], seed=seed * 1000 + k)
        predicted = model.predict_last(held_out)
        metrics = rul_metrics(truth, predicted)
        truths.append(truth)
        predictions.append(predicted)
        folds.append(metrics)
        seconds.append(took)
        if progress is not None:
            progress(k, metrics)
    pooled = rul_metrics(np.concatenate(truths), np.concatenate(predictions))
    return CmapssResult(
        rmse=pooled.rmse,
        phm08_score=pooled.phm08_score,
        mae=pooled.mae,
        train_seconds=float(np.mean(seconds)),
        engines=pooled.rows,
        folds=folds,
    )
