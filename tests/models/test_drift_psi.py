"""Population stability exact on hand examples."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.drift import (
    FeatureReference,
    bin_shares,
    feature_reference,
    fit_reference,
    population_stability,
    psi,
)


def test_psi_by_hand() -> None:
    expected = np.asarray([0.5, 0.5])
    actual = np.asarray([0.25, 0.75])
    assert psi(expected, actual) == pytest.approx(
        (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    )
    assert psi(expected, expected) == 0.0
    # an empty bin is floored at 1e-4 instead of giving an infinite PSI
    assert psi(np.asarray([0.5, 0.5]), np.asarray([1.0, 0.0])) == pytest.approx(
        0.5 * math.log(1.0 / 0.5) + (1e-4 - 0.5) * math.log(1e-4 / 0.5)
    )


def test_bins_from_training_quantiles() -> None:
    ref = feature_reference(np.arange(1.0, 9.0), n_bins=4)  # 1..8
    assert ref.edges == (2.75, 4.5, 6.25)
    assert ref.expected == (0.25, 0.25, 0.25, 0.25, 0.0)
    shares = bin_shares(np.array([0.0, 2.75, 3.0, 100.0, np.nan]), ref.edges)
    np.testing.assert_allclose(shares, [0.4, 0.2, 0.0, 0.2, 0.2])


def test_constant_feature_collapses_bins() -> None:
    ref = feature_reference(np.full(10, 3.0), n_bins=10)
    assert ref.edges == (3.0,)
    assert ref.expected == (1.0, 0.0, 0.0)


def test_population_stability_per_feature() -> None:
    train = pd.DataFrame({"a": np.arange(1.0, 9.0), "b": np.arange(1.0, 9.0)})
    reference = fit_reference(train, n_bins=4)
    same = population_stability(reference, train[["b", "a"]])
    assert same.to_dict() == {"a": 0.0, "b": 0.0}
    shifted = population_stability(reference, pd.DataFrame({"a": np.full(8, 100.0)}))
    e, f = 0.25, 1e-4
    top = (1.0 - e) * math.log(1.0 / e)
    empty = 3 * (f - e) * math.log(f / e)
    assert shifted["a"] == pytest.approx(top + empty)
    # b is absent: every row is missing, the missing bin had no training rows
    gone = 4 * (f - e) * math.log(f / e) + (1.0 - f) * math.log(1.0 / f)
    assert shifted["b"] == pytest.approx(gone)


def test_reference_validates_its_shape() -> None:
    with pytest.raises(ValueError, match="one share per bin"):
        FeatureReference(edges=(1.0,), expected=(0.5, 0.5))
