"""Millwright's health models, trained on the training engines and scored on plant histories.

The plant replays held-out engines; the models never see them in training. Training and
scoring go through the production path, the same one ``eval cmapss`` measures: the engines
are loaded as a plant (:mod:`bench.cmapss`), featurised by :mod:`features` with the C-MAPSS
plant's declared settings, and fitted by :func:`models.training.fit_artifact` — the calibrated
``p_fail`` within ``horizon_cycles``, the central RUL and its conformal 10 % bound ``rul_low``.
Boosters are kept small: the evaluation trains once per seed and must stay fast on a two-core
host.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bench.cmapss import SENSORS, SETTINGS
from bench.cmapss_eval import CmapssModel, models_config, train
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
    constant and written as zeros (regime fitting then finds a single regime).
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
    """The production feature definition and model artifact, fitted on training engines."""

    def __init__(
        self, *, horizon_cycles: int = 24, n_estimators: int | None = None, seed: int = 0
    ) -> None:
        self.horizon_cycles = horizon_cycles
        self.n_estimators = n_estimators
        self.seed = seed

    def fit(self, engines: Sequence[EngineRun]) -> HealthModel:
        frame = history_frame([e.values for e in engines])
        config = models_config(seed=self.seed, n_jobs=1, n_estimators=self.n_estimators)
        config = config.model_copy(update={"horizon_hours": float(self.horizon_cycles)})
        self.model_: CmapssModel = train(frame, config)[0]
        return self

    def score(self, histories: Mapping[str, np.ndarray]) -> dict[str, HealthScore]:
        """Scores at the last observed cycle of each machine's current life."""
        names = [m for m, h in histories.items() if len(h)]
        if not names:
            return {}
        frame = history_frame([histories[m] for m in names])
        last = {i + 1: [len(histories[m])] for i, m in enumerate(names)}
        scored = self.model_.predict_at(frame, last, latest_only=True)
        return {
            m: HealthScore(
                float(scored["rul"].iloc[i]),
                float(scored["rul_low"].iloc[i]),
                float(scored["p_fail"].iloc[i]),
            )
            for i, m in enumerate(names)
        }
