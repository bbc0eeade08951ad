"""Conformal calibration of ``rul_low``: the low quantile made honest out of sample.

A pinball-loss booster learns the 10 % quantile of RUL on its training rows, and on those rows
it covers about 90 %; on machines it has not seen it covers less (the issue measured 0.74–0.82
on C-MAPSS test engines). Split-conformal calibration (Romano et al. 2019, "conformalized
quantile regression") fixes the level with held-out rows: the conformity score of a row is
``s = low - y`` (how far the bound overshot the truth), and the corrected bound is
``low - q`` with ``q`` the ``ceil((n + 1)(1 - alpha)) / n`` empirical quantile of ``s`` —
coverage ``>= 1 - alpha`` for exchangeable machines.

Two choices:

- **Held out by machine, out of fold.** Rows of one machine are not exchangeable with each
  other, machines are. Training machines are dealt into K folds; each fold's scores come from
  a quantile booster fitted on the other folds' machines (CV+ in the sense of Barber et al.
  2021). Every training machine calibrates and the shipped booster still sees them all.
- **Per bin of the predicted bound (Mondrian).** Calibration rows are spread over the whole
  life, but a scheduler acts on machines near the end of theirs; one offset for all rows would
  be set by the long healthy stretch. Offsets per bin of the predicted ``low`` keep coverage
  near nominal at every level of predicted wear.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.errors import ModelInputError


@dataclass(frozen=True)
class ConformalOffsets:
    """Offsets subtracted from the raw low quantile, per bin of the raw prediction."""

    alpha: float
    edges: tuple[float, ...]
    offsets: tuple[float, ...]
    rows: tuple[int, ...]

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"conformal alpha must be in (0, 1), got {self.alpha}.")
        if len(self.offsets) != len(self.edges) + 1 or len(self.rows) != len(self.offsets):
            raise ValueError("conformal offsets need one value (and row count) per bin.")

    @classmethod
    def none(cls, alpha: float) -> ConformalOffsets:
        return cls(alpha, (), (0.0,), (0,))

    def apply(self, low: np.ndarray) -> np.ndarray:
        """The calibrated bound for raw predictions ``low`` (not clipped here)."""
        bins = np.searchsorted(np.asarray(self.edges), low, side="right")
        return low - np.asarray(self.offsets)[bins]

    def to_json(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "edges": list(self.edges),
            "offsets": list(self.offsets),
            "rows": list(self.rows),
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ConformalOffsets:
        return cls(
            float(doc["alpha"]),
            tuple(float(e) for e in doc["edges"]),
            tuple(float(o) for o in doc["offsets"]),
            tuple(int(r) for r in doc["rows"]),
        )


def conformal_quantile(scores: np.ndarray, alpha: float) -> float:
    """The finite-sample split-conformal quantile of ``scores`` at level ``1 - alpha``."""
    n = len(scores)
    if n == 0:
        raise ModelInputError("conformal calibration needs at least one held-out row")
    rank = math.ceil((n + 1) * (1.0 - alpha))
    if rank > n:
        return float(np.max(scores))
    return float(np.sort(scores)[rank - 1])


def calibrate(
    low: np.ndarray, truth: np.ndarray, alpha: float, bins: int = 5, min_rows: int = 200
) -> ConformalOffsets:
    """Offsets from out-of-fold predictions ``low`` and the targets they should stay below.

    ``bins`` quantile bins of ``low`` (fewer when rows are few: each bin keeps ``min_rows``).
    """
    low = np.asarray(low, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    if low.shape != truth.shape or not len(low):
        raise ModelInputError("conformal calibration needs equally many, non-empty rows")
    k = max(1, min(bins, len(low) // max(min_rows, 1)))
    edges = np.unique(np.quantile(low, np.linspace(0, 1, k + 1)[1:-1])) if k > 1 else np.zeros(0)
    which = np.searchsorted(edges, low, side="right")
    scores = low - truth
    offsets, rows = [], []
    for b in range(len(edges) + 1):
        mine = scores[which == b]
        offsets.append(conformal_quantile(mine, alpha) if len(mine) else 0.0)
        rows.append(len(mine))
    return ConformalOffsets(alpha, tuple(float(e) for e in edges), tuple(offsets), tuple(rows))
