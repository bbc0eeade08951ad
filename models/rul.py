"""Remaining useful life: a central estimate and a low quantile.

The scheduler plans maintenance before ``rul_low``, so the low quantile matters as much as the
central estimate: a 10 % quantile says "nine times in ten the machine lasts at least this long".
Two LightGBM boosters are fitted on the same features, one for the centre (L2 by default, or
``objective='quantile'`` at 0.5 for a median) and one with the pinball loss at ``quantile``.
Predictions are clipped at 0 and at the largest target seen in training, and ``rul_low``
never exceeds ``rul``.

``linear_leaves`` gives the central booster LightGBM's linear trees: each leaf fits a linear
model on the features its branch split on instead of one constant. Wear is a trend, and
constant leaves cut a trend into steps that hundreds of trees must smooth again (engine-grouped
CV on C-MAPSS FD001, ``--cv 5``: tune half with 10 cuts per engine, NASA-truth RMSE 12.49 →
12.03; all engines with 3 cuts, 12.22 → 11.72). The low quantile keeps constant leaves: its
bound is what the conformal offsets calibrate, and linear leaves there overshot the coverage
(0.953 against nominal 0.90). A row with a missing feature in a leaf's model gets that leaf's
constant value, as LightGBM documents. The median centre (``objective='median'``, LightGBM's
quantile loss) keeps constant leaves: the quantile loss re-sets each leaf's output to a
quantile of its residuals after the tree is grown, which the leaf's linear model does not
follow (FD001 tune half with linear leaves on the median centre: NASA-truth RMSE 39.0
against 12.0 for the L2 centre).
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd
from lightgbm import Booster, LGBMRegressor
from sklearn.base import BaseEstimator, RegressorMixin

from models.errors import ModelInputError
from models.lgbm import (
    aligned_matrix,
    booster_params,
    check_fitted,
    feature_columns,
    target_vector,
)

log = logging.getLogger(__name__)


class RulRegressor(RegressorMixin, BaseEstimator):
    """RUL from a features frame: ``predict`` gives ``rul``, ``predict_low`` gives ``rul_low``.

    ``quantile=None`` skips the low-quantile booster (benchmarks that only score the centre).
    """

    def __init__(
        self,
        *,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        max_depth: int = -1,
        min_child_samples: int = 20,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        reg_lambda: float = 1.0,
        max_bin: int = 255,
        objective: Literal["l2", "median"] = "l2",
        linear_leaves: bool = False,
        quantile: float | None = 0.1,
        seed: int = 0,
        n_jobs: int = 1,
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.objective = objective
        self.linear_leaves = linear_leaves
        self.quantile = quantile
        self.seed = seed
        self.n_jobs = n_jobs

    def _regressor(self, alpha: float | None) -> LGBMRegressor:
        params = booster_params(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            max_depth=self.max_depth,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            reg_lambda=self.reg_lambda,
            max_bin=self.max_bin,
            seed=self.seed,
            n_jobs=self.n_jobs,
        )
        if alpha is None:
            return LGBMRegressor(objective="l2", **params)
        return LGBMRegressor(objective="quantile", alpha=alpha, **params)

    def _centre(self) -> LGBMRegressor:
        """The central booster: L2 or the median, with linear leaves when asked (L2 only)."""
        median = self.objective == "median"
        if median and self.linear_leaves:
            log.info("the median RUL centre keeps constant leaves: linear leaves need L2")
        booster = self._regressor(0.5 if median else None)
        return booster.set_params(linear_tree=self.linear_leaves and not median)

    def fit(self, X: pd.DataFrame, y: object) -> RulRegressor:
        """Learn from features ``X`` and the remaining useful life ``y`` (any time unit)."""
        if self.objective not in ("l2", "median"):
            raise ModelInputError(f"objective must be 'l2' or 'median', got {self.objective!r}")
        if self.quantile is not None and not 0.0 < self.quantile < 0.5:
            raise ModelInputError(f"quantile must be in (0, 0.5), got {self.quantile}")
        columns = feature_columns(X)
        target = target_vector(y, len(X), "RUL")
        matrix = aligned_matrix(X, columns)
        centre = self._centre()
        self.centre_ = centre.fit(matrix, target)
        self.target_max_ = float(target.max())
        if self.quantile is not None:
            self.low_ = self._regressor(self.quantile).fit(matrix, target)
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        self.n_features_in_ = len(columns)
        return self

    def fit_low(self, X: pd.DataFrame, y: object) -> RulRegressor:
        """Fit only the low-quantile booster (out-of-fold conformal calibration needs no
        centre)."""
        if self.quantile is None or not 0.0 < self.quantile < 0.5:
            raise ModelInputError(f"quantile must be in (0, 0.5), got {self.quantile}")
        columns = feature_columns(X)
        matrix = aligned_matrix(X, columns)
        self.low_ = self._regressor(self.quantile).fit(matrix, target_vector(y, len(X), "RUL"))
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        self.n_features_in_ = len(columns)
        return self

    def predict_low_raw(self, X: pd.DataFrame) -> np.ndarray:
        """The low-quantile booster's own prediction (unclipped, uncalibrated)."""
        check_fitted(self, "low_")
        return np.asarray(self.low_.predict(aligned_matrix(X, list(self.feature_names_in_))))

    @property
    def booster_(self) -> Booster:
        """The central LightGBM booster (used for explanations and the registry)."""
        check_fitted(self, "centre_")
        return self.centre_.booster_

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Central RUL estimate per row, >= 0."""
        check_fitted(self, "centre_")
        return self._centre_on(aligned_matrix(X, list(self.feature_names_in_)))

    def _centre_on(self, matrix: np.ndarray) -> np.ndarray:
        return np.clip(self.centre_.predict(matrix), 0.0, self.target_max_)

    def predict_low(self, X: pd.DataFrame) -> np.ndarray:
        """The ``quantile`` lower bound of RUL per row, >= 0 and <= :meth:`predict`."""
        check_fitted(self, "centre_")
        if not hasattr(self, "low_"):
            raise ModelInputError("this RulRegressor was fitted with quantile=None")
        matrix = aligned_matrix(X, list(self.feature_names_in_))
        low = np.clip(self.low_.predict(matrix), 0.0, None)
        return np.minimum(low, self._centre_on(matrix))
