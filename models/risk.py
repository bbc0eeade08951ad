"""Calibrated probability that a machine fails within the horizon H.

A LightGBM classifier ranks well but its raw scores are not probabilities, and the scheduler
turns ``p_fail`` into expected failure cost, so the number itself must mean what it says.
scikit-learn's ``CalibratedClassifierCV`` fits the calibrator on out-of-fold scores whose folds
are grouped by machine (a machine's own rows never calibrate its own score), then refits one
booster on all data (``ensemble=False``) so that explanations come from a single model.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from lightgbm import Booster, LGBMClassifier
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import GroupKFold, StratifiedKFold

from models.errors import ModelInputError
from models.lgbm import (
    aligned_matrix,
    booster_params,
    check_fitted,
    feature_columns,
    target_vector,
)


class FailureRiskClassifier(ClassifierMixin, BaseEstimator):
    """P(failure within H) from a features frame; LightGBM + scikit-learn calibration.

    ``fit(X, y, groups=machines)`` learns; ``predict_proba(X)[:, 1]`` is ``p_fail``.
    ``booster_`` is the refitted LightGBM model, for explanations and the registry.
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
        calibration: Literal["isotonic", "sigmoid"] = "isotonic",
        calibration_folds: int = 3,
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
        self.calibration = calibration
        self.calibration_folds = calibration_folds
        self.seed = seed
        self.n_jobs = n_jobs

    def _booster(self) -> LGBMClassifier:
        return LGBMClassifier(
            **booster_params(
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
        )

    def _splits(self, y: np.ndarray, groups: object) -> list[tuple[np.ndarray, np.ndarray]]:
        """Calibration folds: grouped by machine when groups are given, else stratified."""
        rows = np.zeros((len(y), 1))
        if groups is None:
            folds = min(self.calibration_folds, int(np.bincount(y.astype(int)).min()))
            if folds < 2:
                raise ModelInputError("calibration needs at least 2 rows of each class")
            splitter = StratifiedKFold(folds, shuffle=True, random_state=self.seed)
            return list(splitter.split(rows, y))
        group_values = np.asarray(groups).reshape(-1)
        if group_values.shape[0] != len(y):
            raise ModelInputError(f"groups has {group_values.shape[0]} values for {len(y)} rows")
        folds = min(self.calibration_folds, len(np.unique(group_values)))
        if folds < 2:
            raise ModelInputError("calibration needs rows from at least 2 machines (groups)")
        grouped = GroupKFold(folds, shuffle=True, random_state=self.seed)
        return list(grouped.split(rows, y, group_values))

    def fit(self, X: pd.DataFrame, y: object, groups: object = None) -> FailureRiskClassifier:
        """Learn from features ``X`` and 0/1 labels ``y`` (failure within H), one row each.

        ``groups`` (machine ids) keeps each machine's rows in one calibration fold.
        """
        columns = feature_columns(X)
        labels = target_vector(y, len(X), "labels")
        if not np.isin(labels, (0.0, 1.0)).all() or len(np.unique(labels)) != 2:
            raise ModelInputError("labels must be 0/1 and contain both classes")
        matrix = aligned_matrix(X, columns)
        calibrated = CalibratedClassifierCV(
            self._booster(),
            method=self.calibration,
            cv=self._splits(labels, groups),
            ensemble=False,
        )
        calibrated.fit(matrix, labels.astype(int))
        self.feature_names_in_ = np.asarray(columns, dtype=object)
        self.n_features_in_ = len(columns)
        self.classes_ = calibrated.classes_
        self.calibrated_ = calibrated
        return self

    @property
    def booster_(self) -> Booster:
        """The LightGBM booster refitted on all training rows (uncalibrated log-odds)."""
        check_fitted(self, "calibrated_")
        return self.calibrated_.calibrated_classifiers_[0].estimator.booster_

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated class probabilities, shape (n, 2); column 1 is ``p_fail``."""
        check_fitted(self, "calibrated_")
        return self.calibrated_.predict_proba(aligned_matrix(X, list(self.feature_names_in_)))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1 where ``p_fail`` >= 0.5 (mainly for scikit-learn tooling; use p_fail)."""
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def p_fail(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated probability of failure within the horizon, one per row."""
        return self.predict_proba(X)[:, 1]
