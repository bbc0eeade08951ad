"""Settings section `[models]` (env `MILLWRIGHT_MODELS__*`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LightGBMParams(BaseModel):
    """Booster parameters shared by the risk classifier and the RUL regressors.

    Defaults are deliberately modest: plant data sets are small per machine and noisy, so many
    shallow trees (7 leaves, at least 40 rows each) with shrinkage generalise to machines not
    seen in training better than fewer deep ones; half the features per tree and 63 histogram
    bins halve the cost of a tree without losing accuracy. Chosen by engine-grouped CV on the
    tuning half of the C-MAPSS FD001 engines only (``eval cmapss --cv 5 --cuts 3 --engines
    tune``: NASA-truth RMSE 16.8 with the former 300 × 31-leaf, 0.8-column boosters and the
    median-life cap, 12.2 with these and the shortest-life cap); the other half reports
    (``--engines report``: 15.9, same settings untouched).
    """

    model_config = ConfigDict(extra="forbid")

    n_estimators: int = Field(default=600, ge=1, le=100_000)
    learning_rate: float = Field(default=0.05, gt=0.0, le=1.0)
    num_leaves: int = Field(default=7, ge=2, le=131_072)
    max_depth: int = Field(default=-1, ge=-1, description="-1 means no limit.")
    min_child_samples: int = Field(default=40, ge=1)
    subsample: float = Field(default=0.8, gt=0.0, le=1.0)
    colsample_bytree: float = Field(default=0.5, gt=0.0, le=1.0)
    reg_lambda: float = Field(default=1.0, ge=0.0)
    max_bin: int = Field(default=63, ge=2, le=1024, description="Histogram bins per feature.")
    n_jobs: int = Field(default=2, ge=1, le=256, description="LightGBM threads (fixed).")


class ModelsConfig(BaseModel):
    """Configuration of the `models` package."""

    model_config = ConfigDict(extra="forbid")

    horizon_hours: float = Field(
        default=24.0, gt=0.0, description="p_fail is the probability of failure within this."
    )
    quantile: float = Field(
        default=0.1, gt=0.0, lt=0.5, description="Low quantile of RUL reported as rul_low."
    )
    calibration: Literal["isotonic", "sigmoid"] = Field(
        default="isotonic", description="How p_fail is calibrated (scikit-learn)."
    )
    calibration_folds: int = Field(default=3, ge=2, le=20)
    seed: int = Field(default=0, ge=0, description="One seed makes training reproducible.")
    top_k: int = Field(default=5, ge=1, le=100, description="Contributing features kept per score.")
    drift_bins: int = Field(default=10, ge=2, le=100, description="PSI bins (training quantiles).")
    lightgbm: LightGBMParams = Field(default_factory=LightGBMParams)
    validation_machines: float = Field(
        default=0.25, gt=0.0, lt=1.0, description="Share of machines held out for validation."
    )
    validation_tail: float = Field(
        default=0.3,
        gt=0.0,
        lt=1.0,
        description="Share of the time range, at its end, that validates (training is before).",
    )
    rul_cap_hours: float | None = Field(
        default=None,
        gt=0.0,
        description=(
            "Cap RUL targets here; censored rows that lived past it then count as the cap. "
            "Unset: the rul_cap_quantile of the observed lives (failure to failure)."
        ),
    )
    rul_cap_quantile: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description=(
            "With rul_cap_hours unset, the cap is this quantile of observed lives; 0, the "
            "shortest life: every machine outlives it, so a fresh machine's target is the cap."
        ),
    )
    rul_objective: Literal["l2", "median"] = Field(
        default="l2", description="Loss of the central RUL booster."
    )
    rul_linear_leaves: bool = Field(
        default=True,
        description=(
            "The central RUL booster fits a linear model in each leaf (LightGBM linear_tree): "
            "wear is a trend, which constant leaves cut into steps. With rul_objective = "
            "'median' the centre keeps constant leaves (the quantile loss does not fit them)."
        ),
    )
    conformal_folds: int = Field(
        default=5, ge=2, le=20, description="Machine-grouped folds calibrating rul_low."
    )
    conformal_bins: int = Field(
        default=5, ge=1, le=50, description="Bins of predicted rul_low with their own offset."
    )
    promotion_min_machines: int = Field(
        default=3, ge=1, description="Promotion needs at least this many validation machines."
    )
    promotion_brier_margin: float = Field(
        default=0.01,
        ge=0.0,
        lt=1.0,
        description="A candidate's Brier must be this much (relative) below the active model's.",
    )
    coverage_band: float = Field(
        default=0.05,
        gt=0.0,
        lt=0.5,
        description="Promotion needs rul_low's held-out coverage within 1 - quantile ± this.",
    )
    drift_min_rows: int = Field(
        default=200, ge=1, description="PSI needs at least this many rows, else 'not enough data'."
    )
    no_data_minutes: float = Field(
        default=60.0,
        gt=0.0,
        description="A machine whose newest features are older than this is scored 'no data'.",
    )
    promotion_rmse_tolerance: float = Field(
        default=0.05,
        ge=0.0,
        description="A candidate may be this much (relative) worse in RUL RMSE and still win.",
    )
    dask_scheduler: str | None = Field(
        default=None,
        description="Dask scheduler address (tcp://host:8786): train there with lightgbm.dask.",
    )
    dask_listen_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Pin LightGBM's local_listen_port on the Dask workers (default: a free one).",
    )
    explain: Literal["path", "shap"] = Field(
        default="path",
        description="Top features by tree-path attribution (fast) or exact TreeSHAP (slow).",
    )
