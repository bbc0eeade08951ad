"""A quick active model for a bench plant that has no failures, so the workers score.

A bench plant (``bench scale``) has readings and features but no events, so nothing can be
learnt from it. The scoring cost does not depend on what a model learnt, only on its shape
(features, trees, explanations, drift reference): this fits the production artifact
(:func:`models.training.fit_artifact`, small boosters) on the plant's own stored features
with synthetic labels, stores it and promotes it. Scoring then runs the production path.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from features import FeatureStore, latest_features
from millwright.core.storage.database import Database
from models import ModelsConfig, promote, save_candidate
from models.holdout import ValidationSet, evaluate
from models.training import TrainingResult, fit_artifact

SEED_CONFIG = {
    "horizon_hours": 24.0,
    "rul_cap_hours": 200.0,
    "conformal_folds": 3,
    "calibration_folds": 3,
    "lightgbm": {"n_estimators": 30, "num_leaves": 7, "n_jobs": 1},
}


def synthetic_labels(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Labels shaped like :func:`features.load_training_frame`'s, for ``frame``'s rows."""
    rng = np.random.default_rng(seed)
    n = len(frame)
    rul = rng.uniform(5.0, 300.0, n)
    return pd.DataFrame(
        {
            "machine_id": frame["machine_id"].to_numpy(dtype=np.int64),
            "ts": frame["ts"].to_numpy(),
            "failed_within_h": pd.array(rul < 24.0, dtype="boolean"),
            "rul": rul,
            "rul_lower": rul,
            "censored": np.zeros(n, dtype=bool),
            "down": np.zeros(n, dtype=bool),
        }
    )


def seed_active_model(database: Database, feature_version: str, *, copies: int = 4) -> str:
    """Fit, store and promote a model on the version's latest stored rows; its version.

    ``copies`` jittered copies of each machine's newest row give the boosters enough rows."""
    latest = latest_features(database, feature_version)
    if len(latest) < 3:
        raise ValueError(f"need the features of at least 3 machines, got {len(latest)}")
    rng = np.random.default_rng(1)
    frames = []
    for k in range(copies):
        copy = latest.copy()
        values = copy.drop(columns=["machine_id", "ts"])
        copy[values.columns] = values * (1.0 + 0.01 * rng.standard_normal(values.shape))
        copy["ts"] = pd.to_datetime(copy["ts"], utc=True) - pd.Timedelta(minutes=k)
        frames.append(copy)
    frame = pd.concat(frames, ignore_index=True)
    labels = synthetic_labels(frame)
    X = frame.drop(columns=["machine_id", "ts"])
    config = ModelsConfig.model_validate(SEED_CONFIG)
    definition = FeatureStore(database).definition(feature_version).to_json()
    artifact = fit_artifact(X, labels, config, feature_definition=definition)
    metrics = evaluate(artifact, X, labels, rul_cap_hours=artifact.rul_cap_hours)
    ts = pd.to_datetime(labels["ts"], utc=True)
    first, last = ts.min().to_pydatetime(), ts.max().to_pydatetime()
    validation = ValidationSet(
        (int(labels["machine_id"].iloc[0]),), first, last, last + timedelta(seconds=1), 24.0
    )
    result = TrainingResult(
        artifact=artifact,
        feature_version=feature_version,
        trained_from=first,
        trained_to=last,
        params={"bench": "seed model on synthetic labels", "models": SEED_CONFIG},
        metrics={**metrics, "validation_machines": 1, "synthetic": True},
        validation=validation,
    )
    record = save_candidate(database, result)
    promote(database, record.version, force=True)
    return record.version
