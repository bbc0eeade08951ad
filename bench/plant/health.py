"""Millwright's health models, trained on the training engines and scored on plant histories.

The plant replays held-out engines; the models never see them in training. Training uses the
project's public estimators: :class:`bench.cmapss.CmapssFeaturizer` for causal per-cycle
features, :class:`models.rul.RulRegressor` for RUL and its 10 % quantile ``rul_low``, and
:class:`models.risk.FailureRiskClassifier` for the calibrated ``p_fail`` within
``horizon_cycles``. Boosters are kept small: the evaluation trains once per seed and must stay
fast on a two-core host.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.cmapss import SENSORS, SETTINGS, CmapssFeaturizer, rul_target
from models.risk import FailureRiskClassifier
from models.rul import RulRegressor
from sim import EngineRun


@dataclass(frozen=True)
class HealthScore:
    """One machine's scores now, in cycles: central RUL, its low quantile, and p_fail."""

    rul: float
    rul_low: float
    p_fail: float


def history_frame(histories: Sequence[np.ndarray]) -> pd.DataFrame:
    """C-MAPSS-shaped frame (unit, cycle, settings, s1..s21) from per-cycle sensor rows.

    The plant keeps only the 21 sensors; FD001 has one operating regime, so the settings are
    constant and written as zeros (the featurizer then finds a single regime).
    """
    parts = []
    for unit, values in enumerate(histories, start=1):
        part = pd.DataFrame(np.asarray(values, dtype=np.float64), columns=list(SENSORS))
        part.insert(0, "unit", unit)
        part.insert(1, "cycle", np.arange(1, len(values) + 1, dtype=np.int64))
        for name in SETTINGS:
            part[name] = 0.0
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


class HealthModel:
    """Featurizer + RUL regressor + risk classifier fitted together on training engines."""

    def __init__(self, *, horizon_cycles: int = 24, n_estimators: int = 100, seed: int = 0) -> None:
        self.horizon_cycles = horizon_cycles
        self.n_estimators = n_estimators
        self.seed = seed

    def fit(self, engines: Sequence[EngineRun]) -> HealthModel:
        frame = history_frame([e.values for e in engines])
        self.featurizer_ = CmapssFeaturizer(windows=(10, 30), ewm_spans=(10,), seed=self.seed)
        features = self.featurizer_.fit(frame).transform(frame)
        self.rul_ = RulRegressor(
            n_estimators=self.n_estimators,
            learning_rate=0.1,
            num_leaves=15,
            min_child_samples=40,
            colsample_bytree=0.5,
            quantile=0.1,
            seed=self.seed,
        ).fit(features, rul_target(frame))
        failing = rul_target(frame, cap=None) < self.horizon_cycles
        self.risk_ = FailureRiskClassifier(
            n_estimators=self.n_estimators,
            learning_rate=0.1,
            num_leaves=15,
            min_child_samples=40,
            colsample_bytree=0.5,
            seed=self.seed,
        ).fit(features, failing.astype(int), groups=frame["unit"].to_numpy())
        return self

    def score(self, histories: Mapping[str, np.ndarray]) -> dict[str, HealthScore]:
        """Scores at the last observed cycle of each machine's current life."""
        names = [m for m, h in histories.items() if len(h)]
        if not names:
            return {}
        frame = history_frame([histories[m] for m in names])
        features = self.featurizer_.transform(frame)
        last = features.iloc[frame.groupby("unit")["cycle"].idxmax().to_numpy()]
        rul = self.rul_.predict(last)
        low = self.rul_.predict_low(last)
        p_fail = self.risk_.p_fail(last)
        return {
            m: HealthScore(float(rul[i]), float(low[i]), float(p_fail[i]))
            for i, m in enumerate(names)
        }
