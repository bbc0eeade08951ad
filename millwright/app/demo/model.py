"""The demo's first model: features backfilled over the recorded history, a model trained,
registered, promoted and run once — the same verbs as `millwright features backfill`,
`millwright train --promote` and `millwright score`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from features.jobs import FeatureJob
from millwright.app.settings import Settings
from millwright.core.storage.database import Database
from models.registry import promote, save_candidate
from models.scoring import score_latest
from models.training import train_model


def train_initial_model(
    database: Database,
    settings: Settings,
    start: datetime,
    end: datetime,
    *,
    checkpoint: Callable[[], None] = lambda: None,
) -> str:
    """Backfill, train, promote and score; returns a one-line summary for the console.

    ``checkpoint`` runs between the stages of training; it raises to stop at a safe point.
    """
    job = FeatureJob(database, settings.features)
    features = job.backfill(start, end)
    checkpoint()
    training = train_model(
        database, settings.models, feature_version=job.version, start=start, end=end,
        observed_until=end, progress=lambda _message: checkpoint(),
    )  # fmt: skip
    checkpoint()
    record = save_candidate(database, training)
    # The demo needs a model to show; a gate refusing the first one is said, not fatal.
    decision = promote(database, record.version, force=True)
    scored = score_latest(database, settings.models)
    metrics = training.metrics
    auc = (metrics.get("classifier") or {}).get("roc_auc")
    rmse = (metrics.get("rul") or {}).get("rmse")
    return (
        f"{features.written:,} feature rows; model {record.version}"
        f" (validation ROC-AUC {auc if auc is None else f'{auc:.3f}'},"
        f" RUL RMSE {rmse if rmse is None else f'{rmse:.1f}'} h);"
        f" {scored.machines} machines scored"
        + (f"; promoted: {decision.reason}" if decision.reason.startswith("forced") else "")
    )
