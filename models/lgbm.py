"""What the LightGBM estimators share: deterministic booster parameters and feature alignment.

Features arrive as DataFrames whose column order and completeness depend on the feature
definitions of the day. Estimators remember the fit-time columns and realign every frame to
them, so a reordered frame predicts the same and a missing feature becomes NaN (which
LightGBM routes down its learned missing-value branch) instead of silently shifting columns.
Boosters are fed plain float arrays so arbitrary feature names never reach LightGBM's
name checks.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.errors import ModelInputError, NotFittedError

log = logging.getLogger(__name__)


def booster_params(
    *,
    n_estimators: int,
    learning_rate: float,
    num_leaves: int,
    max_depth: int,
    min_child_samples: int,
    subsample: float,
    colsample_bytree: float,
    reg_lambda: float,
    max_bin: int = 255,
    seed: int,
    n_jobs: int,
) -> dict[str, Any]:
    """Keyword arguments for a LightGBM sklearn estimator that make a run reproducible.

    ``deterministic`` + ``force_row_wise`` + a fixed thread count remove LightGBM's
    nondeterministic paths; the one seed drives bagging and feature subsampling.
    """
    return {
        "n_estimators": n_estimators,
        "learning_rate": learning_rate,
        "num_leaves": num_leaves,
        "max_depth": max_depth,
        "min_child_samples": min_child_samples,
        "subsample": subsample,
        "subsample_freq": 1 if subsample < 1.0 else 0,
        "colsample_bytree": colsample_bytree,
        "reg_lambda": reg_lambda,
        "max_bin": max_bin,
        "random_state": seed,
        "n_jobs": n_jobs,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }


def feature_columns(X: pd.DataFrame) -> list[str]:
    """The columns an estimator will be fitted on, validated."""
    if not isinstance(X, pd.DataFrame):
        raise ModelInputError(f"features must be a pandas DataFrame, got {type(X).__name__}")
    columns = [str(c) for c in X.columns]
    if not columns:
        raise ModelInputError("features frame has no columns; expected one column per feature")
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise ModelInputError(f"features frame has duplicated columns {duplicated}")
    if len(X) == 0:
        raise ModelInputError("features frame has no rows")
    return columns


def aligned_matrix(X: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """``X`` as a float matrix in fit-time column order; absent columns become NaN."""
    if not isinstance(X, pd.DataFrame):
        raise ModelInputError(f"features must be a pandas DataFrame, got {type(X).__name__}")
    frame = X.rename(columns=str)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        log.info("features missing at prediction, treated as NaN: %s", missing)
    try:
        return frame.reindex(columns=list(columns)).to_numpy(dtype=np.float64, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise ModelInputError(f"features must be numeric: {exc}") from exc


def check_fitted(estimator: object, attribute: str) -> None:
    """Raise :class:`NotFittedError` unless ``fit`` has set ``attribute``."""
    if not hasattr(estimator, attribute):
        raise NotFittedError(
            f"{type(estimator).__name__} is not fitted yet; call fit(X, y) before predicting"
        )


def target_vector(y: object, n_rows: int, name: str) -> np.ndarray:
    """Labels as a finite float vector matching the features' row count."""
    values = np.asarray(y, dtype=np.float64).reshape(-1)
    if values.shape[0] != n_rows:
        raise ModelInputError(f"{name} has {values.shape[0]} values for {n_rows} feature rows")
    if not np.all(np.isfinite(values)):
        raise ModelInputError(f"{name} contains NaN or infinite values; drop unlabeled rows")
    return values
