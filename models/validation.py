"""Validation that cannot leak, and the metrics every model is judged by.

Two ways a predictive-maintenance model cheats: seeing the same machine in training and
validation (it learns the machine, not the wear), and seeing the future (labels at time t look
ahead by the horizon H). Splits here keep machines disjoint and, for plant data, train only on
rows before the validation period minus an embargo of H.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from models.errors import ModelInputError

Split = tuple[np.ndarray, np.ndarray]


def _machine_folds(groups: np.ndarray, n_splits: int, seed: int) -> np.ndarray:
    """Fold number per row: machines shuffled with ``seed`` and dealt round-robin."""
    machines = pd.unique(groups)
    if len(machines) < n_splits:
        raise ModelInputError(
            f"{n_splits} folds need at least {n_splits} machines, got {len(machines)}"
        )
    order = np.random.default_rng(seed).permutation(len(machines))
    fold_of = {machines[m]: i % n_splits for i, m in enumerate(order)}
    return np.array([fold_of[g] for g in groups], dtype=np.int64)


def group_splits(groups: object, n_splits: int = 5, seed: int = 0) -> Iterator[Split]:
    """K folds with disjoint machines (for run-to-failure data with no shared calendar)."""
    values = np.asarray(groups).reshape(-1)
    folds = _machine_folds(values, n_splits, seed)
    for k in range(n_splits):
        yield np.flatnonzero(folds != k), np.flatnonzero(folds == k)


def group_time_splits(
    groups: object,
    times: object,
    n_splits: int = 4,
    embargo: object = None,
    seed: int = 0,
) -> Iterator[Split]:
    """Forward-chaining folds, machines disjoint: train on the past, validate on what follows.

    Time is cut into ``n_splits + 1`` equal-count blocks. Fold k validates on block k+1 of the
    machines dealt to fold k and trains on the other machines' rows before block k+1 minus
    ``embargo`` (the label horizon H, so no training label looks into the validation period).
    """
    machine = np.asarray(groups).reshape(-1)
    stamp = pd.Series(np.asarray(times).reshape(-1))
    if len(stamp) != len(machine):
        raise ModelInputError(f"times has {len(stamp)} values for {len(machine)} groups")
    folds = _machine_folds(machine, n_splits, seed)
    cuts = stamp.quantile(np.linspace(0, 1, n_splits + 2), interpolation="nearest").to_numpy()
    for k in range(n_splits):
        start, end = cuts[k + 1], cuts[k + 2]
        in_block = (stamp >= start).to_numpy() & (
            (stamp <= end) if k == n_splits - 1 else (stamp < end)
        ).to_numpy()
        limit = start if embargo is None else start - embargo
        before = (stamp < limit).to_numpy()
        yield np.flatnonzero(before & (folds != k)), np.flatnonzero(in_block & (folds == k))


@dataclass(frozen=True)
class ClassifierMetrics:
    """How well ``p_fail`` ranks (ROC-AUC, PR-AUC) and how honest it is (Brier)."""

    roc_auc: float
    pr_auc: float
    brier: float
    positives: int
    rows: int

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class RulMetrics:
    """Errors of ``rul`` (RMSE, MAE, PHM08 score) and how often truth >= ``rul_low``."""

    rmse: float
    mae: float
    phm08_score: float
    coverage: float | None
    rows: int

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


def _pair(y_true: object, y_pred: object) -> tuple[np.ndarray, np.ndarray]:
    true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    pred = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if true.shape != pred.shape or true.size == 0:
        raise ModelInputError(
            f"need equally long, non-empty vectors, got {true.size} and {pred.size}"
        )
    return true, pred


def classifier_metrics(y_true: object, p_fail: object) -> ClassifierMetrics:
    """ROC-AUC, PR-AUC (average precision) and Brier score of probabilities."""
    true, prob = _pair(y_true, p_fail)
    if len(np.unique(true)) != 2:
        raise ModelInputError("ROC-AUC needs both failing and healthy rows in the labels")
    return ClassifierMetrics(
        roc_auc=float(roc_auc_score(true, prob)),
        pr_auc=float(average_precision_score(true, prob)),
        brier=float(brier_score_loss(true, prob)),
        positives=int(true.sum()),
        rows=int(true.size),
    )


def calibration_table(y_true: object, p_fail: object, n_bins: int = 10) -> pd.DataFrame:
    """Per equal-width probability bin: rows, mean predicted and observed failure rate.

    A calibrated model has ``mean_predicted`` close to ``observed_rate`` in every bin.
    """
    true, prob = _pair(y_true, p_fail)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, prob, side="right") - 1, 0, n_bins - 1)
    table = (
        pd.DataFrame({"bin": bins, "p": prob, "y": true})
        .groupby("bin")
        .agg(rows=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"))
    )
    table = table.reindex(range(n_bins))
    table.insert(0, "upper", edges[1:])
    table.insert(0, "lower", edges[:-1])
    table["rows"] = table["rows"].fillna(0).astype(np.int64)
    return table.reset_index(drop=True)


def phm08_score(y_true: object, y_pred: object) -> float:
    """The PHM08 challenge score: late predictions (d > 0) cost more than early ones.

    ``sum(exp(-d/13) - 1 if d < 0 else exp(d/10) - 1)`` with ``d = predicted - true``.
    """
    true, pred = _pair(y_true, y_pred)
    d = pred - true
    return float(np.sum(np.where(d < 0, np.expm1(-d / 13.0), np.expm1(d / 10.0))))


def rul_metrics(y_true: object, rul: object, rul_low: object | None = None) -> RulMetrics:
    """RMSE, MAE, PHM08 and (given ``rul_low``) the share of truths at or above it."""
    true, pred = _pair(y_true, rul)
    error = pred - true
    coverage = None
    if rul_low is not None:
        _, low = _pair(y_true, rul_low)
        coverage = float(np.mean(true >= low))
    return RulMetrics(
        rmse=float(np.sqrt(np.mean(error**2))),
        mae=float(np.mean(np.abs(error))),
        phm08_score=phm08_score(true, pred),
        coverage=coverage,
        rows=int(true.size),
    )


def quantile_coverage(y_true: object, lower: object) -> float:
    """Share of rows whose truth is at or above the predicted lower quantile."""
    true, low = _pair(y_true, lower)
    return float(np.mean(true >= low))
