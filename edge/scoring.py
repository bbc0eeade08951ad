"""Scoring at the edge: the central feature math and the artifact's own scoring function on a
local copy of the active model and its feature state.

The local copy's boosters score through LightGBM's C library (:class:`models.NativeBooster`,
the same calls and numbers as the centre's ``lightgbm.Booster``), so the edge process never
imports LightGBM's Python package and the scipy it pulls in.

- :meth:`EdgeScorer.refresh` (central database reachable): copy the active model's artifact
  and its machines' feature state into SQLite when the active version changed (a promotion),
  or when ``force``.
- :meth:`EdgeScorer.score` (always, from the local copy): features of an instant from the
  readings the edge saw (:func:`features.features_at`, what the central jobs compute) through
  :func:`models.score_frame` (what central scoring runs); the scores are kept locally.
- :meth:`EdgeScorer.sync` (reachable again): every local score the centre lacks goes into
  ``risk_scores`` (``ON CONFLICT DO NOTHING`` on machine, ts, model version), then is marked
  synced: running it twice, or after a crash between the two steps, stores each score once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from edge.cache import EdgeCache
from features import FeatureState, feature_state, features_at, features_from_bins
from millwright.core.storage import Database
from models import (
    ModelArtifact,
    ModelsConfig,
    NativeBooster,
    active_version,
    load_model,
    score_frame,
    write_scores,
)

log = logging.getLogger(__name__)


class NoLocalModelError(RuntimeError):
    """The edge has no model copy yet: it must reach the central database once."""


@dataclass(frozen=True)
class EdgeScores:
    """One local scoring run: the features computed and the score rows kept."""

    model_version: str
    features: pd.DataFrame
    scores: pd.DataFrame
    kept: int


class EdgeScorer:
    """The edge's scoring over its :class:`EdgeCache`."""

    def __init__(self, cache: EdgeCache, config: ModelsConfig) -> None:
        self.cache = cache
        self._config = config
        self._loaded: tuple[str, ModelArtifact, FeatureState] | None = None

    def refresh(self, database: Database, until: datetime, *, force: bool = False) -> str | None:
        """Copy the active model and its feature state (events before ``until``) when the
        active version changed; returns the active version (None: nothing is active)."""
        version = active_version(database)
        if version is None:
            return None
        if version == self.cache.model_version() and not force:
            return version
        model = load_model(database, version)
        artifact = model.artifact
        if artifact.feature_definition is None:
            raise NoLocalModelError(
                f"model {version} carries no feature definition; retrain it to score at the edge"
            )

        definition_doc = artifact.feature_definition
        machines = [int(r[0]) for r in database.execute("SELECT id FROM machines ORDER BY id")]
        state = feature_state(database, definition_doc, machines, until)
        self.cache.store_model(
            version, model.record.feature_version, artifact.to_json(), state.to_json()
        )
        self._loaded = None
        log.info("edge copy refreshed: model %s, %d machines", version, len(machines))
        return version

    def refresh_state(self, database: Database, until: datetime) -> None:
        """Re-copy the feature state (new events, baselines) for the cached model."""
        self.refresh(database, until, force=True)

    def model(self) -> tuple[str, ModelArtifact, FeatureState]:
        """The local copy: version, artifact and feature state (loaded once per version)."""
        return self._model()

    def _model(self) -> tuple[str, ModelArtifact, FeatureState]:
        version = self.cache.model_version()
        if self._loaded is None or self._loaded[0] != version:
            cached = self.cache.load_model()
            if cached is None:
                raise NoLocalModelError(
                    f"no model copy in {self.cache.path}; the edge must reach the central"
                    " database once to copy the active model"
                )
            self._loaded = (
                cached.version,
                ModelArtifact.from_json(cached.artifact, booster=NativeBooster),
                FeatureState.from_json(cached.state),
            )
        return self._loaded

    def features(
        self, readings: pd.DataFrame, instant: datetime, machine_ids: Sequence[int] | None = None
    ) -> pd.DataFrame:
        """Features at ``instant`` from ``readings`` with the local feature state."""
        _, _, state = self._model()
        machines = (
            sorted({int(m) for m in state.sensors["machine_id"]})
            if machine_ids is None
            else [int(m) for m in machine_ids]
        )
        return features_at(state, readings, machines, instant)

    def features_from_bins(
        self,
        closed: np.ndarray,
        readings: pd.DataFrame,
        instant: datetime,
        machine_ids: Sequence[int],
    ) -> pd.DataFrame:
        """Features at ``instant`` from the look-back's closed bins (packed, oldest first) and
        the raw readings of the rest (:func:`features.bins.features_from_bins`)."""
        _, _, state = self._model()
        return features_from_bins(state, closed, readings, machine_ids, instant)

    def score(
        self, readings: pd.DataFrame, instant: datetime, machine_ids: Sequence[int] | None = None
    ) -> EdgeScores:
        """Features and scores at ``instant``; the scores are kept in the local copy."""
        return self._score(self.features(readings, instant, machine_ids))

    def score_bins(
        self,
        closed: np.ndarray,
        readings: pd.DataFrame,
        instant: datetime,
        machine_ids: Sequence[int],
    ) -> EdgeScores:
        """:meth:`score` from closed bins (what the service holds) instead of raw readings."""
        return self._score(self.features_from_bins(closed, readings, instant, machine_ids))

    def _score(self, frame: pd.DataFrame) -> EdgeScores:
        version, artifact, _ = self._model()
        rows, drift, _ = score_frame(artifact, frame, self._config)
        kept = self.cache.add_scores(
            rows,
            model_version=version,
            horizon_hours=artifact.horizon_hours,
            drift=json.dumps({**drift, "scored_at_edge": True}),
        )
        return EdgeScores(version, frame, rows, kept)

    def sync(self, database: Database) -> int:
        """Store every unsynced local score centrally; returns how many were new there."""
        pending = self.cache.scores(unsynced=True)
        written = 0
        for (version, horizon, drift), group in pending.groupby(
            ["model_version", "horizon_hours", "drift"], sort=False
        ):
            written += write_scores(
                database,
                group,
                model_version=str(version),
                horizon_hours=float(horizon),
                drift=json.loads(str(drift)),
            )
            ts_us = pd.DatetimeIndex(group["ts"]).as_unit("us").asi8
            self.cache.mark_synced(
                [
                    (int(m), int(t), str(version))
                    for m, t in zip(group["machine_id"], ts_us, strict=True)
                ]
            )
        return written
