"""The drift reference of every feature, prepared once per model for repeated populations.

:func:`models.drift.population_stability` rebuilds arrays and a Series per feature on every
call. Here the reference shares of all features sit in one (features x bins) array, zero-padded
to the widest, and a population's bins are counted with one ``bincount`` over all features;
each value's bin is ``searchsorted(edges, value, side="left")`` exactly as in
:mod:`models.drift`, NaN in the last bin. Pads are empty in both the reference and the
population, so they add nothing to the PSI and the result equals the per-feature one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from models.drift import EPSILON, FeatureReference

CHUNK_ROWS = 2048


class DriftTable:
    """PSI of the columns of a matrix (in ``names`` order) against their references."""

    def __init__(self, reference: dict[str, FeatureReference], names: Sequence[str]) -> None:
        self.names = [n for n in names if n in reference]
        position = {n: i for i, n in enumerate(names)}
        self._columns = np.array([position[n] for n in self.names], dtype=np.int64)
        width = max((len(reference[n].edges) for n in self.names), default=0)
        self._missing_bin = width + 1
        self._edge_list = [np.asarray(reference[n].edges, dtype=np.float64) for n in self.names]
        self._expected = np.zeros((len(self.names), width + 2))
        for i, name in enumerate(self.names):
            ref = reference[name]
            self._expected[i, : len(ref.edges) + 1] = ref.expected[:-1]
            self._expected[i, -1] = ref.expected[-1]

    def psi(self, matrix: np.ndarray) -> np.ndarray:
        """One PSI per feature of :attr:`names` for the rows of ``matrix``."""
        features, bins = self._expected.shape
        counts = np.zeros(features * bins)
        offsets = np.arange(features)[None, :] * bins
        for start in range(0, len(matrix), CHUNK_ROWS):
            values = matrix[start : start + CHUNK_ROWS, self._columns]
            which = np.empty(values.shape, dtype=np.int64)
            for i, edges in enumerate(self._edge_list):
                which[:, i] = np.searchsorted(edges, values[:, i], side="left")
            which[np.isnan(values)] = self._missing_bin
            counts += np.bincount((offsets + which).ravel(), minlength=features * bins)
        actual = np.clip(counts.reshape(features, bins) / max(len(matrix), 1), EPSILON, None)
        expected = np.clip(self._expected, EPSILON, None)
        return np.asarray(((actual - expected) * np.log(actual / expected)).sum(axis=1))
