"""Metrics exact on hand examples; splits never share a machine nor look ahead."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.errors import ModelInputError
from models.validation import (
    calibration_table,
    classifier_metrics,
    group_splits,
    group_time_splits,
    phm08_score,
    quantile_coverage,
    rul_metrics,
)


def test_phm08_penalises_late_more_than_early() -> None:
    # d = pred - true: -13 (early), 0, +10 (late)
    score = phm08_score([50, 20, 30], [37, 20, 40])
    assert score == pytest.approx((math.e - 1) + 0 + (math.e - 1))
    assert phm08_score([100], [90]) == pytest.approx(math.exp(10 / 13) - 1)
    assert phm08_score([100], [110]) == pytest.approx(math.exp(1) - 1)
    assert phm08_score([100], [110]) > phm08_score([100], [90])


def test_rul_metrics_by_hand() -> None:
    metrics = rul_metrics([10, 20, 30, 40], [12, 18, 30, 44], rul_low=[5, 25, 30, 41])
    assert metrics.rmse == pytest.approx(math.sqrt((4 + 4 + 0 + 16) / 4))
    assert metrics.mae == pytest.approx(2.0)
    assert metrics.coverage == pytest.approx(0.5)  # 10 >= 5, 20 < 25, 30 >= 30, 40 < 41
    assert metrics.rows == 4
    assert quantile_coverage([1, 2, 3, 4], [0, 0, 5, 5]) == 0.5


def test_classifier_metrics_by_hand() -> None:
    metrics = classifier_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert metrics.roc_auc == pytest.approx(0.75)
    assert metrics.brier == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    assert metrics.pr_auc == pytest.approx((1.0 + 2 / 3) / 2)
    with pytest.raises(ModelInputError, match="both"):
        classifier_metrics([1, 1], [0.2, 0.3])


def test_calibration_table_by_hand() -> None:
    table = calibration_table([0, 1, 1, 0, 1], [0.05, 0.15, 0.95, 0.55, 1.0], n_bins=2)
    assert list(table["rows"]) == [2, 3]
    assert table.loc[0, "mean_predicted"] == pytest.approx(0.10)
    assert table.loc[0, "observed_rate"] == pytest.approx(0.5)
    assert table.loc[1, "mean_predicted"] == pytest.approx(2.5 / 3)
    assert table.loc[1, "observed_rate"] == pytest.approx(2 / 3)
    empty = calibration_table([1], [0.3], n_bins=4)
    assert list(empty["rows"]) == [0, 1, 0, 0]
    assert np.isnan(empty.loc[0, "observed_rate"])


def test_group_splits_partition_machines() -> None:
    machines = np.repeat(["a", "b", "c", "d", "e", "f"], 3)
    seen = np.zeros(len(machines), dtype=int)
    for train, test in group_splits(machines, n_splits=3, seed=1):
        assert not set(machines[train]) & set(machines[test])
        seen[test] += 1
    assert (seen == 1).all()
    again = [t.tolist() for _, t in group_splits(machines, 3, seed=1)]
    assert again == [t.tolist() for _, t in group_splits(machines, 3, seed=1)]
    with pytest.raises(ModelInputError, match="at least 7 machines"):
        next(group_splits(machines, n_splits=7))


def test_group_time_splits_train_on_the_past_only() -> None:
    machines = np.repeat([f"m{i}" for i in range(8)], 50)
    times = pd.Series(np.tile(pd.date_range("2024-01-01", periods=50, freq="h"), 8))
    embargo = pd.Timedelta(hours=3)
    folds = list(group_time_splits(machines, times, n_splits=4, embargo=embargo, seed=0))
    assert len(folds) == 4
    for train, test in folds:
        assert len(train) and len(test)
        assert not set(machines[train]) & set(machines[test])
        assert times.iloc[train].max() < times.iloc[test].min() - embargo
    plain = list(group_time_splits(machines, times, n_splits=4, seed=0))
    assert all(times.iloc[tr].max() < times.iloc[te].min() for tr, te in plain)
    assert sum(len(tr) for tr, _ in plain) > sum(len(tr) for tr, _ in folds)
