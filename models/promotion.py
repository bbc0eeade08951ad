"""When a candidate may replace the active model: both scored on the same held-out rows.

The candidate's validation set (held-out machines at the end of its training range, see
:mod:`models.holdout`) is reloaded from the database and both models score it now, each from
its own feature version, on the rows both can see.

Before any comparison a candidate must stand on its own (:func:`gate`), first model included:

- it has validation metrics for both ``p_fail`` and RUL (a model nobody measured is saved,
  never promoted);
- it was validated on at least ``promotion_min_machines`` machines (default 3);
- its Brier score beats the base rate's (Brier skill > 0);
- its ``rul_low`` covers the held-out truth (rows below the RUL cap, where the bound matters)
  within ``coverage_band`` of nominal, or within two binomial standard errors over the held-out
  lives when they are too few to measure coverage that finely (:func:`coverage_band`).

The candidate then **beats** the active model when

- its Brier score is at least ``brier_margin`` (relative, default 1 %) below the active model's
  on the same rows (``p_fail`` is what the scheduler prices, so its honesty decides), and
- its RUL RMSE is at most ``(1 + rmse_tolerance)`` times the active model's (default 5 %:
  a better risk model may trade a little RUL accuracy, not a lot), when RUL is measurable.

Anything that prevents a fair comparison (no common rows, one class only, different horizons)
refuses the promotion; an operator can still ``force`` it. Rows the active model was trained
on favour the incumbent, so the rule errs on the side of keeping what runs.
"""

from __future__ import annotations

import math
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
    cap = cand_model.rul_cap_hours
    return Rescored(
        evaluate(cand_model, X, labels, rul_cap_hours=cap),
        evaluate(act_model, X_act, labels, rul_cap_hours=cap),
        len(X),
    )


@dataclass(frozen=True)
class Gates:
    """The thresholds of :func:`gate` and :func:`judge` (from the ``[models]`` settings)."""

    min_machines: int = 3
    coverage_band: float = 0.05
    brier_margin: float = 0.01
    rmse_tolerance: float = 0.05


def gate(metrics: dict[str, Any], quantile: float, gates: Gates) -> str | None:
    """Why a candidate's own validation metrics forbid promotion (None when they allow it)."""
    clf, rul = metrics.get("classifier"), metrics.get("rul")
    if not clf or not rul:
        missing = " and ".join(n for n, m in (("p_fail", clf), ("RUL", rul)) if not m)
        return f"no validation metrics for {missing}: saved, not promoted"
    machines = int(metrics.get("validation_machines") or 0)
    if machines < gates.min_machines:
        return (
            f"validated on {machines} machine(s), fewer than models.promotion_min_machines "
            f"= {gates.min_machines}; train on more machines or lower the setting"
        )
    base = clf.get("brier_base_rate")
    if base is None or not clf["brier"] < base:
        return f"Brier {clf['brier']:.5f} does not beat the base rate's {base}: no skill"
    coverage, nominal = rul.get("coverage_below_cap", rul.get("coverage")), 1.0 - quantile
    lives = rul.get("lives_below_cap")
    band = coverage_band(gates.coverage_band, quantile, lives)
    if coverage is None or abs(coverage - nominal) > band:
        measured = "" if not lives else f" (from {lives} held-out lives)"
        return (
            f"rul_low covers {coverage} of held-out truths below the RUL cap{measured}, "
            f"outside {nominal:.2f} ± {band:.2f}"
        )
    return None


def coverage_band(band: float, quantile: float, lives: int | None) -> float:
    """The coverage tolerance: ``band``, or two binomial standard errors over ``lives``.

    Rows of one life share its error, so coverage measured on n held-out lives scatters like
    n draws (about ± 0.42 for two lives at 10 %), whatever the row count. A band narrower than
    that spread refuses good models on chance; a refusal must rest on evidence.
    """
    if not lives:
        return band
    return max(band, 2.0 * math.sqrt(quantile * (1.0 - quantile) / lives))


def judge(
    version: str, current: str, scored: Rescored, rmse_tolerance: float, brier_margin: float = 0.0
) -> Decision:
    """Apply the comparison rule of this module's docstring."""

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
    if not cand_brier < act_brier * (1.0 - brier_margin):
        return refuse(
            f"Brier {cand_brier:.5f} is not {brier_margin:.0%} below the active model's "
            f"{act_brier:.5f} on the same {scored.rows:,} rows"
        )
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
