"""The held-out validation set of a training run, and how any model is judged on it.

A plant's machines share a calendar, so validation holds out whole machines *and* the end of
the time range: the model trains on the other machines' rows before ``cut - H`` (the label
horizon, so no training label looks into the validation period) and validates on the held-out
machines' rows from ``cut`` on. The set is recorded as (machines, time range, when events
stopped being known, H), not as rows: promotion reloads it from the database and scores the
candidate and the active model on exactly the same rows.

Which rows have a target: the classifier needs ``failed_within_h`` known (rows censored inside
the horizon are dropped); RUL needs an observed failure — or, with ``rul_cap_hours``, a row
that is censored but provably lived past the cap, whose target is the cap (see :func:`rul_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from models.artifact import ModelArtifact
from models.errors import ModelInputError


@dataclass(frozen=True)
class ValidationSet:
    """Held-out machines' rows in ``[start, end]``, labels known until ``observed_until``."""

    machines: tuple[int, ...]
    start: datetime
    end: datetime
    observed_until: datetime
    horizon_hours: float

    def __post_init__(self) -> None:
        if not self.machines:
            raise ValueError("a validation set needs at least one machine.")
        if self.end < self.start:
            raise ValueError(f"validation end {self.end} is before its start {self.start}.")

    def to_json(self) -> dict[str, Any]:
        return {
            "machines": list(self.machines),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "observed_until": self.observed_until.isoformat(),
            "horizon_hours": self.horizon_hours,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> ValidationSet:
        return cls(
            tuple(int(m) for m in doc["machines"]),
            datetime.fromisoformat(doc["start"]),
            datetime.fromisoformat(doc["end"]),
            datetime.fromisoformat(doc["observed_until"]),
            float(doc["horizon_hours"]),
        )


def split(
    labels: pd.DataFrame,
    *,
    validation_machines: float,
    validation_tail: float,
    embargo_hours: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...], datetime]:
    """Boolean masks (train, validate), the held-out machines and the time cut.

    Machines are shuffled with ``seed``; at least one is held out and at least two train
    (calibration folds are grouped by machine).
    """
    machine = labels["machine_id"].to_numpy(dtype=np.int64)
    machines = np.unique(machine)
    if len(machines) < 3:
        raise ModelInputError(
            f"training needs rows of at least 3 machines (2 to train, 1 to validate), "
            f"got {len(machines)}"
        )
    held_count = min(max(1, round(validation_machines * len(machines))), len(machines) - 2)
    order = np.random.default_rng(seed).permutation(len(machines))
    held = np.sort(machines[order[:held_count]])
    ts = pd.to_datetime(labels["ts"], utc=True)
    cut = ts.quantile(1.0 - validation_tail, interpolation="nearest")
    in_held = np.isin(machine, held)
    validate = in_held & (ts >= cut).to_numpy()
    train = ~in_held & (ts < cut - timedelta(hours=embargo_hours)).to_numpy()
    return train, validate, tuple(int(m) for m in held), cut.to_pydatetime()


def classifier_rows(labels: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Mask of rows whose ``failed_within_h`` is known, and those 0/1 labels."""
    known = labels["failed_within_h"].notna().to_numpy()
    y = labels["failed_within_h"].fillna(False).to_numpy(dtype=bool).astype(np.int64)
    return known, y


def rul_rows(labels: pd.DataFrame, cap_hours: float | None) -> tuple[np.ndarray, np.ndarray]:
    """Mask of rows with a RUL target, and the targets in hours (censoring-aware).

    The target is ``min(rul, cap)``. A row whose segment ended in a failure has it exactly. A
    censored row (its segment ended in a maintenance, or is still running) has it exactly
    too when the machine provably lived past the cap (``rul_lower >= cap``): its target is
    the cap. Censored rows watched for less than the cap have an unknown target and are left
    out — weighting them would need a survival model; cutting them keeps the capped target
    unbiased wherever it is known. Without a cap only failure-ended rows count.
    """
    rul = labels["rul"].to_numpy(dtype=np.float64)
    censored = labels["censored"].to_numpy(dtype=bool)
    observed = ~censored & np.isfinite(rul)
    if cap_hours is None:
        return observed, rul
    lower = labels["rul_lower"].to_numpy(dtype=np.float64)
    watched = censored & (lower >= cap_hours)
    target = np.where(observed, np.minimum(np.nan_to_num(rul, nan=cap_hours), cap_hours), cap_hours)
    return observed | watched, target


def observed_lives(labels: pd.DataFrame) -> np.ndarray:
    """Hours from the first labelled instant of each failure-ended life to its failure."""
    rul = labels["rul"].to_numpy(dtype=np.float64)
    observed = ~labels["censored"].to_numpy(dtype=bool) & np.isfinite(rul)
    if not observed.any():
        return np.zeros(0)
    ts = pd.to_datetime(labels["ts"], utc=True)
    failure_at = ts[observed] + pd.to_timedelta(rul[observed], unit="h")
    frame = pd.DataFrame(
        {
            "machine_id": labels["machine_id"].to_numpy()[observed],
            "failure": failure_at.dt.round("s").to_numpy(),
            "rul": rul[observed],
        }
    )
    return frame.groupby(["machine_id", "failure"])["rul"].max().to_numpy(dtype=np.float64)


def default_cap(labels: pd.DataFrame, quantile: float) -> float | None:
    """The RUL cap from the data: ``quantile`` of the observed lives (None without any)."""
    lives = observed_lives(labels)
    return float(np.quantile(lives, quantile)) if len(lives) else None


def _lives(labels: pd.DataFrame, rows: np.ndarray) -> int:
    """How many distinct failure-ended lives (machine, failure time) ``rows`` come from.

    Rows of one life share its error, so a coverage measured on them has about the spread of
    as many draws as there are lives, not rows."""
    if not rows.any():
        return 0
    ts = pd.to_datetime(labels["ts"], utc=True)[rows]
    failure = (ts + pd.to_timedelta(labels["rul"].to_numpy(dtype=np.float64)[rows], unit="h")).dt
    keys = pd.DataFrame(
        {"machine_id": labels["machine_id"].to_numpy()[rows], "failure": failure.round("s")}
    )
    return len(keys.drop_duplicates())


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def evaluate(
    artifact: ModelArtifact,
    X: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    rul_cap_hours: float | None = None,
    calibration_bins: int = 10,
) -> dict[str, Any]:
    """Classifier metrics, a calibration table and RUL metrics of ``artifact`` on these rows.

    A part that cannot be measured (only one class, no observed failure) is ``None``.
    """
    # scikit-learn's metrics, imported only where a model is judged (not to score one)
    from models.validation import calibration_table, classifier_metrics, rul_metrics

    if len(X) == 0:
        return {"classifier": None, "calibration": [], "rul": None}
    predictions = artifact.predict(X)
    known, y = classifier_rows(labels)
    result: dict[str, Any] = {"classifier": None, "calibration": [], "rul": None}
    if known.any() and len(np.unique(y[known])) == 2:
        result["classifier"] = classifier_metrics(y[known], predictions.p_fail[known]).as_dict()
        base = float(np.mean(y[known]))
        base_brier = base * (1.0 - base)
        result["classifier"]["brier_base_rate"] = base_brier
        result["classifier"]["brier_skill"] = (
            1.0 - result["classifier"]["brier"] / base_brier if base_brier > 0 else None
        )
        table = calibration_table(y[known], predictions.p_fail[known], calibration_bins)
        result["calibration"] = [
            {key: _finite(v) if key != "rows" else int(v) for key, v in row.items()}
            for row in table.to_dict("records")
            if row["rows"] > 0
        ]
    has_rul, target = rul_rows(labels, rul_cap_hours)
    if has_rul.any():
        metrics = rul_metrics(
            target[has_rul], predictions.rul[has_rul], predictions.rul_low[has_rul]
        ).as_dict()
        result["rul"] = {k: _finite(v) if isinstance(v, float) else v for k, v in metrics.items()}
        if rul_cap_hours is not None:
            # capped rows are covered by construction; say how the quantile does below the cap
            short = has_rul & (target < rul_cap_hours)
            below = (
                float(np.mean(target[short] >= predictions.rul_low[short])) if short.any() else None
            )
            result["rul"]["coverage_below_cap"] = _finite(below)
            result["rul"]["rows_below_cap"] = int(short.sum())
            result["rul"]["lives_below_cap"] = _lives(labels, short)
        result["rul"]["nominal_coverage"] = 1.0 - artifact.quantile
        result["rul"]["machines"] = len(np.unique(labels["machine_id"].to_numpy()[has_rul]))
    return result
