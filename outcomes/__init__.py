"""Outcomes: what the predictive loop earned the plant, measured on what actually happened.

Owns the one cost model shared by the plant evaluation and production (:mod:`outcomes.costs`,
settings section ``[outcomes]``), the outcome figures per machine, line and plant
(:mod:`outcomes.figures`, pure), the counterfactual of a reactive and a fixed-interval policy
(:mod:`outcomes.counterfactual`, pure), the reader of events, alerts, plans and orders
(:mod:`outcomes.store`) and the shareable report (:mod:`outcomes.report`).

Data flows in from every stage's tables; the package imports only the ground floor, so the
API, the dashboard and the benchmarks can all use it.
"""

from outcomes.config import OutcomesConfig
from outcomes.costs import CostModel, Ledger
from outcomes.counterfactual import Counterfactual, counterfactual
from outcomes.figures import FailureOutcome, Figures, Group, outcome_figures
from outcomes.records import (
    AlertRecord,
    History,
    OrderRecord,
    PlannedTask,
    ScrapRecord,
    Stop,
    StopKind,
)
from outcomes.service import OutcomesResult, compute_outcomes

__all__ = [
    "AlertRecord",
    "CostModel",
    "Counterfactual",
    "FailureOutcome",
    "Figures",
    "Group",
    "History",
    "Ledger",
    "OrderRecord",
    "OutcomesConfig",
    "OutcomesResult",
    "PlannedTask",
    "ScrapRecord",
    "Stop",
    "StopKind",
    "compute_outcomes",
    "counterfactual",
    "outcome_figures",
]
