"""When a candidate may replace the active model: both scored on the same held-out rows.

The candidate's validation set (held-out machines at the end of its training range, see
:mod:`models.holdout`) is reloaded from the database and both models score it now, each from
its own feature version, on the rows both can see. The candidate **beats** the active model
when

- its Brier score is strictly lower (``p_fail`` is what the scheduler prices, so its honesty
  decides), and
- its RUL RMSE is at most ``(1 + rmse_tolerance)`` times the active model's (default 5 %:
  a better risk model may trade a little RUL accuracy, not a lot), when RUL is measurable.

Anything that prevents a fair comparison (no common rows, one class only, different horizons)
refuses the promotion; an operator can still ``force`` it. Rows the active model was trained
on favour the incumbent, so the rule errs on the side of keeping what runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from features import load_training_frame
from millwright.core.storage import Database
from models.artifact import ModelArtifact
from models.holdout import ValidationSet, evaluate


@dataclass(frozen=True)
class Decision:
    """The outcome of a promotion request and the evidence it rests on."""

    version: str
    promoted: bool
    reason: str
    previous: str | None
    candidate: dict[str, Any] | None = None
    active: dict[str, Any] | None = None
    rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "promoted": self.promoted,
            "reason": self.reason,
            "previous": self.previous,
            "rows": self.rows,
            "candidate": self.candidate,
            "active": self.active,
        }


@dataclass(frozen=True)
class Rescored:
    """Both models' metrics on the same rows."""

    candidate: dict[str, Any]
    active: dict[str, Any]
    rows: int
    problem: str | None = None


def _frame(
    database: Database, validation: ValidationSet, feature_version: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    return load_training_frame(
        database,
        feature_version,
        validation.start,
        validation.end,
        machine_ids=list(validation.machines),
        horizon_hours=validation.horizon_hours,
        observed_until=validation.observed_until,
    )


def rescore(
    database: Database,
    validation: ValidationSet,
    candidate: tuple[ModelArtifact, str],
    active: tuple[ModelArtifact, str],
) -> Rescored:
    """Metrics of both (artifact, feature version) pairs on ``validation``'s rows."""
    (cand_model, cand_version), (act_model, act_version) = candidate, active
    if abs(cand_model.horizon_hours - act_model.horizon_hours) > 1e-9:
        return Rescored(
            {},
            {},
            0,
            f"horizons differ ({cand_model.horizon_hours} h and {act_model.horizon_hours} h)",
        )
    X, labels = _frame(database, validation, cand_version)
    if act_version == cand_version:
        X_act = X
    else:
        X_other, labels_other = _frame(database, validation, act_version)
        keys = labels[["machine_id", "ts"]].reset_index(drop=True)
        other = pd.concat([labels_other[["machine_id", "ts"]], X_other], axis=1)
        joined = keys.merge(other, on=["machine_id", "ts"], how="left", indicator=True)
        common = (joined["_merge"] == "both").to_numpy()
        X, labels = X[common].reset_index(drop=True), labels[common].reset_index(drop=True)
        X_act = joined[common].drop(columns=["machine_id", "ts", "_merge"])
        X_act = X_act.reset_index(drop=True)
    if len(X) == 0:
        return Rescored({}, {}, 0, "no validation rows both models can score")
    cap, seen = cand_model.rul_cap_hours, validation.observed_until
    return Rescored(
        evaluate(cand_model, X, labels, rul_cap_hours=cap, observed_until=seen),
        evaluate(act_model, X_act, labels, rul_cap_hours=cap, observed_until=seen),
        len(X),
    )


def judge(version: str, current: str, scored: Rescored, rmse_tolerance: float) -> Decision:
    """Apply the rule of this module's docstring."""

    def refuse(reason: str) -> Decision:
        return Decision(
            version, False, reason, current, scored.candidate, scored.active, scored.rows
        )

    if scored.problem:
        return refuse(f"cannot compare: {scored.problem}")
    cand_clf, act_clf = scored.candidate.get("classifier"), scored.active.get("classifier")
    if not cand_clf or not act_clf:
        return refuse("cannot compare: the validation rows hold only one class")
    cand_brier, act_brier = cand_clf["brier"], act_clf["brier"]
    if not cand_brier < act_brier:
        return refuse(f"Brier {cand_brier:.5f} is not below the active model's {act_brier:.5f}")
    cand_rul, act_rul = scored.candidate.get("rul"), scored.active.get("rul")
    rmse_note = ""
    if cand_rul and act_rul and cand_rul.get("rmse") is not None and act_rul.get("rmse"):
        limit = act_rul["rmse"] * (1.0 + rmse_tolerance)
        if cand_rul["rmse"] > limit:
            return refuse(
                f"RUL RMSE {cand_rul['rmse']:.2f} h exceeds the active model's "
                f"{act_rul['rmse']:.2f} h by more than {rmse_tolerance:.0%}"
            )
        rmse_note = f", RUL RMSE {cand_rul['rmse']:.2f} h vs {act_rul['rmse']:.2f} h"
    return Decision(
        version,
        True,
        f"Brier {cand_brier:.5f} < {act_brier:.5f}{rmse_note} on {scored.rows:,} rows",
        current,
        scored.candidate,
        scored.active,
        scored.rows,
    )
