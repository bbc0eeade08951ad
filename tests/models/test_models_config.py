"""Settings reach the estimators unchanged."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from models.config import ModelsConfig
from models.estimators import risk_classifier, rul_regressor


def test_defaults_and_estimators_from_config() -> None:
    config = ModelsConfig.model_validate(
        {"seed": 11, "quantile": 0.2, "top_k": 3, "lightgbm": {"num_leaves": 7, "n_jobs": 1}}
    )
    assert config.horizon_hours == 24.0
    clf = risk_classifier(config)
    reg = rul_regressor(config)
    assert clf.get_params()["seed"] == reg.get_params()["seed"] == 11
    assert clf.num_leaves == reg.num_leaves == 7
    assert reg.quantile == 0.2
    assert clf.calibration == "isotonic"


@pytest.mark.parametrize(
    "bad", [{"quantile": 0.7}, {"horizon_hours": 0}, {"lightgbm": {"learning_rate": 0}}, {"x": 1}]
)
def test_invalid_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ModelsConfig.model_validate(bad)
