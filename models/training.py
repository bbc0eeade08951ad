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

from features import UnknownVersionError, load_training_frame, plant_clock
from millwright.core.storage import Database
from models.artifact import ModelArtifact
from models.config import ModelsConfig
from models.drift import fit_reference
from models.errors import ModelInputError
from models.estimators import risk_classifier, rul_regressor
from models.holdout import ValidationSet, classifier_rows, evaluate, rul_rows, split

log = logging.getLogger(__name__)

Progress = Callable[[str], None]

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
    observed_until: datetime | None = None,
    progress: Progress | None = None,
) -> ModelArtifact:
    """Fit the classifier and both RUL boosters on these rows (no I/O).

    ``labels`` has the columns of :func:`features.frames.load_training_frame`'s labels;
    ``observed_until`` is when their events stopped being known (see :func:`rul_rows`).
    """
    say = progress or (lambda _message: None)
    known, y = classifier_rows(labels)
    if not known.any() or len(np.unique(y[known])) != 2:
        raise ModelInputError(
            "training rows need both failures within the horizon and healthy rows; "
            "widen the time range or wait for failures to be recorded"
        )
    has_rul, target = rul_rows(labels, config.rul_cap_hours, observed_until)
    if has_rul.sum() < 2:
        raise ModelInputError(
            "training rows need observed failures for RUL (or set models.rul_cap_hours so "
            "machines that lived past it count)"
        )
    say(f"fitting the calibrated classifier on {int(known.sum()):,} rows")
    classifier = risk_classifier(config).fit(
        X[known], y[known], groups=labels["machine_id"].to_numpy()[known]
    )
    say(f"fitting RUL median and {config.quantile:.0%} quantile on {int(has_rul.sum()):,} rows")
    regressor = rul_regressor(config).set_params(objective="median")
    regressor.fit(X[has_rul], target[has_rul])
    say("computing the drift reference")
    finite = X.replace([np.inf, -np.inf], np.nan)
    return ModelArtifact.from_estimators(
        classifier,
        regressor,
        horizon_hours=config.horizon_hours,
        reference=fit_reference(finite, config.drift_bins),
        rul_cap_hours=config.rul_cap_hours,
    )


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
) -> TrainingResult:
    """Train on the stored features of ``feature_version`` with ``start <= ts <= end``.

    ``end`` and ``observed_until`` (when events stop counting) default to the plant clock.
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
        X, labels = load_training_frame(
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
    artifact = fit_artifact(X_train, y_train, config, observed_until=seen, progress=say)
    say("validating on the held-out machines")
    X_val, y_val = X[validate].reset_index(drop=True), labels[validate].reset_index(drop=True)
    metrics = evaluate(
        artifact, X_val, y_val, rul_cap_hours=config.rul_cap_hours, observed_until=seen
    )
    ts = pd.to_datetime(labels["ts"], utc=True)
    train_ts = ts[train]
    validation = ValidationSet(
        held, cut, ts[validate].max().to_pydatetime(), seen, config.horizon_hours
    )
    known, _ = classifier_rows(y_train)
    has_rul, _ = rul_rows(y_train, config.rul_cap_hours, seen)
    metrics["training"] = {
        "rows": int(train.sum()),
        "rows_classifier": int(known.sum()),
        "rows_rul": int(has_rul.sum()),
        "machines": int(y_train["machine_id"].nunique()),
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
            f"ROC-AUC {c['roc_auc']:.3f}  PR-AUC {c['pr_auc']:.3f}  Brier {c['brier']:.4f}"
        )
    if metrics.get("rul"):
        r = metrics["rul"]
        parts.append(
            f"RUL RMSE {r['rmse']:.1f} h  MAE {r['mae']:.1f} h  coverage {r['coverage']:.2f}"
        )
    return "validation: " + ("  ".join(parts) if parts else "no measurable rows")
