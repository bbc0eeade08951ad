"""Training from the database: features and labels in, a validated model artifact out.

One run loads the stored features of one feature version with their labels, holds out whole
machines at the end of the time range (:mod:`models.holdout`), fits the calibrated failure
classifier and the RUL median and low-quantile boosters on the rest, measures them on the
held-out rows and keeps the training features' bin shares as the drift reference.

The model that is stored is the model that was validated (it is not refitted on all rows):
its metrics are honest, and promotion can score it on held-out rows it has never seen. The
same data, settings and seed give the same model, byte for byte.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from features import FeatureStore, UnknownVersionError, load_training_frame, plant_clock
from millwright.core.storage import Database
from models.artifact import ModelArtifact
from models.config import ModelsConfig
from models.conformal import ConformalOffsets, calibrate
from models.drift import fit_reference
from models.errors import ModelInputError
from models.estimators import risk_classifier, rul_regressor
from models.holdout import (
    ValidationSet,
    classifier_rows,
    default_cap,
    evaluate,
    rul_rows,
    split,
)
from models.rul import RulRegressor
from models.validation import group_splits

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
FrameLoader = Callable[..., tuple[pd.DataFrame, pd.DataFrame]]
Estimators = tuple[Callable[[ModelsConfig], Any], Callable[[ModelsConfig], Any]]

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class TrainingResult:
    """A trained, validated model ready for the registry."""

    artifact: ModelArtifact
    feature_version: str
    trained_from: datetime
    trained_to: datetime
    params: dict[str, Any]
    metrics: dict[str, Any]
    validation: ValidationSet


def fit_artifact(
    X: pd.DataFrame,
    labels: pd.DataFrame,
    config: ModelsConfig,
    *,
    feature_definition: dict[str, Any] | None = None,
    progress: Progress | None = None,
    estimators: Estimators | None = None,
) -> ModelArtifact:
    """Fit the classifier, both RUL boosters and the conformal offsets on these rows (no I/O).

    ``labels`` has the columns of :func:`features.frames.load_training_frame`'s labels. The RUL
    cap is ``config.rul_cap_hours`` or, unset, the ``rul_cap_quantile`` of the observed lives.
    ``feature_definition`` (the definition's JSON, regime statistics included) is stored with
    the artifact.
    ``estimators`` builds the unfitted classifier and regressor (default: the configured
    single-process ones; :mod:`models.dask_training` passes Dask-trained ones).
    """
    make_classifier, make_regressor = estimators or (risk_classifier, rul_regressor)
    say = progress or (lambda _message: None)
    known, y = classifier_rows(labels)
    if not known.any() or len(np.unique(y[known])) != 2:
        raise ModelInputError(
            "training rows need both failures within the horizon and healthy rows; "
            "widen the time range or wait for failures to be recorded"
        )
    cap = config.rul_cap_hours or default_cap(labels, config.rul_cap_quantile)
    has_rul, target = rul_rows(labels, cap)
    groups = labels["machine_id"].to_numpy()
    if has_rul.sum() < 2 or len(np.unique(groups[has_rul])) < config.conformal_folds:
        raise ModelInputError(
            f"RUL needs rows of at least {config.conformal_folds} machines (models."
            "conformal_folds) with an observed failure or a life longer than the RUL cap"
        )
    say(f"fitting the calibrated classifier on {int(known.sum()):,} rows")
    classifier = make_classifier(config).fit(X[known], y[known], groups=groups[known])
    cap_text = f"{cap:.1f} h" if cap is not None else "none"
    say(
        f"fitting RUL ({config.rul_objective}) and its {config.quantile:.0%} quantile on "
        f"{int(has_rul.sum()):,} rows, cap {cap_text}"
    )
    X_rul, y_rul, g_rul = X[has_rul], target[has_rul], groups[has_rul]
    regressor = make_regressor(config).set_params(objective=config.rul_objective)
    regressor.fit(X_rul, y_rul)
    say(f"calibrating rul_low on {config.conformal_folds} machine-grouped folds")
    conformal = _conformal(regressor, X_rul, y_rul, g_rul, config, cap)
    say("computing the drift reference")
    finite = X.replace([np.inf, -np.inf], np.nan)
    return ModelArtifact.from_estimators(
        classifier,
        regressor,
        horizon_hours=config.horizon_hours,
        reference=fit_reference(finite, config.drift_bins),
        rul_cap_hours=cap,
        conformal=conformal,
        feature_definition=feature_definition,
    )


def _conformal(
    regressor: RulRegressor,
    X: pd.DataFrame,
    target: np.ndarray,
    groups: np.ndarray,
    config: ModelsConfig,
    cap: float | None,
) -> ConformalOffsets:
    """Out-of-fold low-quantile predictions by machine, then the offsets that make them cover.

    Offsets are fit on the rows below the cap: there the truth is exactly known and the bound
    is what the scheduler acts on (a capped row is covered by any bound under the cap)."""
    low = np.empty(len(target))
    for train_rows, held_rows in group_splits(groups, config.conformal_folds, config.seed):
        fold = clone(regressor).fit_low(X.iloc[train_rows], target[train_rows])
        low[held_rows] = fold.predict_low_raw(X.iloc[held_rows])
    below = target < cap if cap is not None else np.ones(len(target), dtype=bool)
    if below.sum() < 50:
        below[:] = True
    return calibrate(low[below], target[below], config.quantile, bins=config.conformal_bins)


def train_model(
    database: Database,
    config: ModelsConfig,
    *,
    feature_version: str,
    start: datetime | None = None,
    end: datetime | None = None,
    observed_until: datetime | None = None,
    machine_ids: Sequence[int] | None = None,
    progress: Progress | None = None,
    frame_loader: FrameLoader | None = None,
    estimators: Estimators | None = None,
) -> TrainingResult:
    """Train on the stored features of ``feature_version`` with ``start <= ts <= end``.

    ``end`` and ``observed_until`` (when events stop counting) default to the plant clock.
    ``frame_loader`` (default :func:`load_training_frame`) and ``estimators`` let
    :mod:`models.dask_training` read and fit on a Dask cluster; nothing else changes.
    """
    started = time.perf_counter()

    def say(message: str) -> None:
        log.info("train: %s", message)
        if progress is not None:
            progress(message)

    seen = observed_until or plant_clock(database)
    last = end or seen
    say(f"loading features {feature_version} up to {last:%Y-%m-%d %H:%M}")
    try:
        X, labels = (frame_loader or load_training_frame)(
            database,
            feature_version,
            start or EARLIEST,
            last,
            machine_ids=machine_ids,
            horizon_hours=config.horizon_hours,
            observed_until=seen,
        )
    except UnknownVersionError as exc:
        raise ModelInputError(f"{exc}; run `millwright features run` first") from exc
    if X.empty:
        raise ModelInputError(
            f"no stored features of version {feature_version} in the range; run "
            "`millwright features run` (or backfill) first"
        )
    train, validate, held, cut = split(
        labels,
        validation_machines=config.validation_machines,
        validation_tail=config.validation_tail,
        embargo_hours=config.horizon_hours,
        seed=config.seed,
    )
    if not validate.any():
        raise ModelInputError("the validation split is empty; widen the time range")
    say(
        f"{len(X):,} rows of {labels['machine_id'].nunique()} machines: training on "
        f"{int(train.sum()):,}, validating on {int(validate.sum()):,} "
        f"({len(held)} machines from {cut:%Y-%m-%d %H:%M})"
    )
    X_train, y_train = X[train].reset_index(drop=True), labels[train].reset_index(drop=True)
    definition = FeatureStore(database).definition(feature_version).to_json()
    artifact = fit_artifact(
        X_train, y_train, config, feature_definition=definition, progress=say, estimators=estimators
    )
    say("validating on the held-out machines")
    X_val, y_val = X[validate].reset_index(drop=True), labels[validate].reset_index(drop=True)
    metrics = evaluate(artifact, X_val, y_val, rul_cap_hours=artifact.rul_cap_hours)
    ts = pd.to_datetime(labels["ts"], utc=True)
    train_ts = ts[train]
    validation = ValidationSet(
        held, cut, ts[validate].max().to_pydatetime(), seen, config.horizon_hours
    )
    known, _ = classifier_rows(y_train)
    has_rul, _ = rul_rows(y_train, artifact.rul_cap_hours)
    metrics["validation_machines"] = len(held)
    metrics["training"] = {
        "rows": int(train.sum()),
        "rows_classifier": int(known.sum()),
        "rows_rul": int(has_rul.sum()),
        "machines": int(y_train["machine_id"].nunique()),
        "rul_cap_hours": artifact.rul_cap_hours,
        "seconds": round(time.perf_counter() - started, 3),
    }
    params = {
        "models": config.model_dump(mode="json"),
        "validation": validation.to_json(),
        "features": len(artifact.feature_names),
    }
    say(_summary(metrics))
    return TrainingResult(
        artifact=artifact,
        feature_version=feature_version,
        trained_from=train_ts.min().to_pydatetime(),
        trained_to=train_ts.max().to_pydatetime(),
        params=params,
        metrics=metrics,
        validation=validation,
    )


def _summary(metrics: dict[str, Any]) -> str:
    parts = []
    if metrics.get("classifier"):
        c = metrics["classifier"]
        parts.append(
            f"ROC-AUC {c['roc_auc']:.3f}  PR-AUC {c['pr_auc']:.3f}  Brier {c['brier']:.4f} "
            f"(base rate {c['brier_base_rate']:.4f})"
        )
    if metrics.get("rul"):
        r = metrics["rul"]
        parts.append(
            f"RUL RMSE {r['rmse']:.1f} h  MAE {r['mae']:.1f} h  rul_low coverage "
            f"{r['coverage']:.3f}{_below_cap_text(r)}, nominal {r.get('nominal_coverage')}"
        )
    return "validation: " + ("  ".join(parts) if parts else "no measurable rows")


def _below_cap_text(rul: dict[str, Any]) -> str:
    """Coverage where the truth is known exactly, and how many lives it rests on."""
    below = rul.get("coverage_below_cap")
    if below is None:
        return ""
    return f" ({below:.3f} below the cap, over {rul.get('lives_below_cap')} lives)"
