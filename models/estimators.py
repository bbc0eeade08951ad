"""Estimators built from the `[models]` settings, so training jobs need not repeat parameters."""

from __future__ import annotations

from models.config import ModelsConfig
from models.risk import FailureRiskClassifier
from models.rul import RulRegressor


def risk_classifier(config: ModelsConfig) -> FailureRiskClassifier:
    """The configured, unfitted failure-risk classifier."""
    booster = config.lightgbm.model_dump()
    return FailureRiskClassifier(
        **booster,
        calibration=config.calibration,
        calibration_folds=config.calibration_folds,
        seed=config.seed,
    )


def rul_regressor(config: ModelsConfig) -> RulRegressor:
    """The configured, unfitted RUL regressor (central estimate and ``config.quantile``)."""
    return RulRegressor(
        **config.lightgbm.model_dump(),
        linear_leaves=config.rul_linear_leaves,
        quantile=config.quantile,
        seed=config.seed,
    )
