"""Weights of the scheduling objective, as a pure record the model can carry.

`SchedulerConfig` (pydantic, an edge) builds one of these; the model never sees settings.
All costs are scaled by `scale` and rounded, because CP-SAT optimises integers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class ObjectiveWeights:
    """Per-unit weights of each objective term.

    tardiness: per unit of weighted job lateness; maintenance: per unit of task cost;
    expected_failure: per unit of hazard x duration x job value on a machine not yet maintained;
    makespan: per unit of plan length; maintenance_late: per unit a risk-driven task finishes
    after rul_low (heavy, so it only happens when unavoidable); change: per unit a rescheduled
    operation moves, and `change_machine` per machine switch (secondary terms);
    deadline_late: per unit a job finishes after its deadline (heavy, like maintenance_late);
    moved: per previously planned operation that moves at all (stability), times its urgency
    `moved_horizon / (moved_horizon + planned start)`: work due now weighs fully, work due a
    `moved_horizon` later half as much; resequenced: on top of `moved`, per previously planned
    operation that changes machine or its place in its machine's list (of two neighbours in
    the previous list, the later now starts first), with the same urgency: a pure time shift
    keeps the dispatch list a planner already read, a resequence changes it, so it costs more.
    """

    tardiness: float = 10.0
    maintenance: float = 1.0
    expected_failure: float = 1000.0
    makespan: float = 1.0
    maintenance_late: float = 10_000.0
    change: float = 0.1
    change_machine: float = 5.0
    scale: int = 10
    deadline_late: float = 10_000.0
    moved: float = 50.0
    moved_horizon: int = 480
    resequenced: float = 500.0

    def urgency(self, planned_start: int) -> float:
        """How soon previously planned work was due, in (0, 1]: 1 for work due now."""
        return self.moved_horizon / (self.moved_horizon + max(0, planned_start))

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 0:
                raise ValueError(f"objective weight {f.name} must be >= 0")
        if self.moved_horizon < 1:
            raise ValueError("objective moved_horizon must be >= 1")
        if self.scale < 1:
            raise ValueError("objective scale must be >= 1")

    def coef(self, weight: float, amount: float = 1.0) -> int:
        """The integer objective coefficient of `amount` units weighted by `weight`."""
        return round(weight * amount * self.scale)
