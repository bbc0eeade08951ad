"""A quick active model for a bench plant that has no failures, so the workers score.

A bench plant (``bench scale``) has readings but no events, so nothing can be learnt from
it. The scoring cost does not depend on what a model learnt, only on its shape (features,
trees, explanations, drift reference): this fits the production artifact
(:func:`models.training.fit_artifact`, small boosters) on synthetic rows of the feature
version's columns with synthetic labels, stores it and promotes it. Scoring then runs the
production path.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

from features import FeatureStore
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


def seed_active_model(database: Database, feature_version: str, *, rows: int = 2000) -> str:
    """Fit, store and promote a model for the version's feature names; its version.

    It can be seeded before any feature is computed (the names are the definition's), so
    the scores follow the features from the first instant."""
    names = FeatureStore(database).names(feature_version)
    machines = [int(r[0]) for r in database.execute("SELECT id FROM machines ORDER BY id")]
    if len(machines) < 3:
        raise ValueError(f"need at least 3 machines, got {len(machines)}")
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.standard_normal((rows, len(names))), columns=list(names))
    frame.insert(0, "machine_id", np.resize(np.asarray(machines, dtype=np.int64), rows))
    start = pd.Timestamp("2024-01-01", tz="UTC")
    frame.insert(1, "ts", start + pd.to_timedelta(np.arange(rows), unit="min"))
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
