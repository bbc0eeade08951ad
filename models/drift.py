"""Population stability of each feature against the data a model was trained on.

A model is only as good as the resemblance between today's features and its training data.
The population stability index (PSI) compares the share of rows per bin, with bins cut at the
training quantiles so each holds about the same share of training rows:
``PSI = sum((actual - expected) * ln(actual / expected))``. Rules of thumb: < 0.1 stable,
0.1–0.25 moderate shift, > 0.25 major shift. Missing values get a bin of their own, so a sensor
that goes silent shows up as drift. The reference is small (edges and shares per feature), so it
is stored with the model rather than the training data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.errors import ModelInputError

EPSILON = 1e-4
"""Floor for empty-bin shares, which would otherwise make the logarithm infinite."""


@dataclass(frozen=True)
class FeatureReference:
    """Bin edges (interior cut points) and the training share per bin; last bin is NaN."""

    edges: tuple[float, ...]
    expected: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.expected) != len(self.edges) + 2:
            raise ValueError("expected needs one share per bin plus one for missing values")


def bin_shares(values: np.ndarray, edges: tuple[float, ...]) -> np.ndarray:
    """Share of values per bin ``(-inf, e1], (e1, e2], ..., (en, inf)`` and then NaN."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ModelInputError("cannot compute bin shares of an empty column")
    missing = np.isnan(values)
    bins = np.searchsorted(np.asarray(edges), values[~missing], side="left")
    counts = np.bincount(bins, minlength=len(edges) + 1).astype(np.float64)
    return np.append(counts, missing.sum()) / values.size


def feature_reference(values: np.ndarray, n_bins: int = 10) -> FeatureReference:
    """Quantile bins of a training column; repeated quantiles collapse into one edge."""
    values = np.asarray(values, dtype=np.float64)
    present = values[~np.isnan(values)]
    if present.size:
        quantiles = np.quantile(present, np.linspace(0, 1, n_bins + 1)[1:-1])
        edges = tuple(float(e) for e in np.unique(quantiles))
    else:
        edges = ()
    return FeatureReference(edges, tuple(float(s) for s in bin_shares(values, edges)))


def psi(expected: np.ndarray, actual: np.ndarray, epsilon: float = EPSILON) -> float:
    """Population stability index between two vectors of bin shares."""
    e = np.clip(np.asarray(expected, dtype=np.float64), epsilon, None)
    a = np.clip(np.asarray(actual, dtype=np.float64), epsilon, None)
    if e.shape != a.shape:
        raise ModelInputError(f"bin shares differ in length: {e.size} and {a.size}")
    return float(np.sum((a - e) * np.log(a / e)))


def fit_reference(frame: pd.DataFrame, n_bins: int = 10) -> dict[str, FeatureReference]:
    """A :class:`FeatureReference` for every column of the training features."""
    return {
        str(c): feature_reference(frame[c].to_numpy(dtype=np.float64), n_bins)
        for c in frame.columns
    }


def population_stability(reference: dict[str, FeatureReference], frame: pd.DataFrame) -> pd.Series:
    """PSI per reference feature for the rows of ``frame``; an absent column is all missing."""
    if len(frame) == 0:
        raise ModelInputError("cannot measure drift on an empty features frame")
    result = {}
    for name, ref in reference.items():
        if name in frame.columns:
            column = frame[name].to_numpy(dtype=np.float64)
        else:
            column = np.full(len(frame), np.nan)
        result[name] = psi(np.asarray(ref.expected), bin_shares(column, ref.edges))
    return pd.Series(result, name="psi", dtype=np.float64)
