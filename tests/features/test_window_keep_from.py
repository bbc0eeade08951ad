"""Window compositions that keep only the bins a later one reads (``keep_from``) give the
full compositions' numbers on those bins, bit for bit, for any set of window sizes."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from features.windows import Aggregates, bin_aggregates, window_aggregates


def _bins(cells: int, n_bins: int, seed: int) -> Aggregates:
    rng = np.random.default_rng(seed)
    rows = 40 * cells
    cell = np.sort(rng.integers(0, cells * n_bins, rows))
    tau = -rng.random(rows) / 6
    value = rng.normal(size=rows)
    value[rng.random(rows) < 0.05] = np.nan
    return bin_aggregates(cell, tau, value, cells, n_bins)


@pytest.mark.parametrize(
    "sizes", [[6, 36, 144], [6, 30, 36, 144], [4, 6], [1, 3, 12], [2, 4, 8, 16], [5]]
)
@pytest.mark.parametrize("keep_from", [0, 1, 17, 143, 149])
def test_kept_bins_equal_the_full_composition(sizes: list[int], keep_from: int) -> None:
    bins = _bins(7, 150, seed=len(sizes) + keep_from)
    before = {f.name: getattr(bins, f.name).copy() for f in fields(bins)}
    full = window_aggregates(bins, sizes, 1 / 6, 0.9)
    kept = window_aggregates(bins, sizes, 1 / 6, 0.9, keep_from=keep_from)
    for size in sizes:
        for f in fields(Aggregates):
            want = getattr(full[size], f.name)[:, keep_from:]
            got = getattr(kept[size], f.name)
            assert got.shape == want.shape
            assert got.tobytes() == want.tobytes(), (size, f.name)
    for name, array in before.items():  # the caller's bins are left as they were
        assert getattr(bins, name).tobytes() == array.tobytes()
