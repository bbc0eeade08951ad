"""What the solver hands back: a plan people can read, and the run's status and figures.

Each decision carries the risk that drove it (`reason`), so the dashboard and the MES can say
why work moved or why a machine stops for maintenance.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class SolveStatus(enum.Enum):
    """Outcome of a solve; infeasible or timed-out runs are statuses, never exceptions."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    DISPATCH = "feasible (dispatch)"  # the solver had no plan in time: the checked warm start
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"  # time limit reached without a plan
    MODEL_INVALID = "model_invalid"

    @property
    def has_plan(self) -> bool:
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE, SolveStatus.DISPATCH)


@dataclass(frozen=True)
class ScheduledOperation:
    job: str
    seq: int
    machine: str
    start: int
    end: int
    reason: str | None = None  # e.g. "avoided M3: risk M3 ..." or "before maint-M3 (risk ...)"

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"operation {self.job}/{self.seq} ends before it starts")


@dataclass(frozen=True)
class ScheduledMaintenance:
    name: str
    machine: str
    start: int
    end: int
    cause: str | None = None

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"maintenance {self.name} ends before it starts")


@dataclass(frozen=True)
class JobOutcome:
    job: str
    completion: int
    lateness: int  # completion - due (negative: early); 0 without a due date

    @property
    def tardiness(self) -> int:
        return max(0, self.lateness)


@dataclass(frozen=True)
class Violation:
    """A soft rule the plan could not keep, e.g. maintenance finishing after `rul_low`."""

    constraint: str
    subject: str
    amount: int
    message: str


@dataclass(frozen=True)
class Unplaced:
    """Work the plan leaves out, and why, in a planner's words (names and clock times)."""

    subject: str  # "J07/1" or a maintenance task's name
    reason: str


@dataclass(frozen=True)
class Plan:
    """Per machine its ordered work, per job its outcome, and what could not be kept."""

    operations: tuple[ScheduledOperation, ...]
    maintenance: tuple[ScheduledMaintenance, ...] = ()
    jobs: tuple[JobOutcome, ...] = ()
    violations: tuple[Violation, ...] = ()
    costs: dict[str, float] = field(default_factory=dict)

    @property
    def makespan(self) -> int:
        ends = [o.end for o in self.operations] + [m.end for m in self.maintenance]
        return max(ends, default=0)

    def machine_schedule(self, machine: str) -> list[ScheduledOperation | ScheduledMaintenance]:
        """The dispatch list of `machine`: operations and maintenance in start order."""
        items: list[ScheduledOperation | ScheduledMaintenance] = [
            o for o in self.operations if o.machine == machine
        ]
        items += [m for m in self.maintenance if m.machine == machine]
        return sorted(items, key=lambda item: item.start)

    def operation(self, job: str, seq: int) -> ScheduledOperation:
        return next(o for o in self.operations if o.job == job and o.seq == seq)


@dataclass(frozen=True)
class Tradeoff:
    """A replan's choice between its stable plan and re-dispatching from scratch, in
    production cost (the objective without the stability term), so a planner sees what
    stability costs. The stable plan keeps every unaffected machine list (the list-kept
    search), or, from a start close to re-dispatching, reorders only where the resequencing
    price pays (`stable_resequenced` counts it). `chosen` is `stable` or `redispatch`: the
    stable plan gives way when it produces more than `max_loss` (a share; None: never) worse
    than re-dispatching by EDD, or when re-dispatching is cheaper even with its plan changes
    priced."""

    stable: float
    redispatch: float
    chosen: str
    max_loss: float | None
    stable_resequenced: int = 0  # unaffected operations the stable plan resequenced

    @property
    def loss(self) -> float | None:
        """How much more the stable plan costs in production, as a share of re-dispatching."""
        return None if self.redispatch <= 0 else self.stable / self.redispatch - 1


@dataclass(frozen=True)
class Result:
    """A solve's outcome: status, objective and bound (scaled integers), seconds, the plan,
    and, when infeasible, explanations naming the constraint and the job or machine.

    `reason` says in one sentence why a plan is degraded (dispatch) or missing; `unplaced` is
    the work left out (waiting for an offline machine, past the horizon); `released` the frozen
    placements a disruption let go; `moved_operations` how many previously planned operations
    the plan moves, `affected_operations` how many had no valid previous placement (a
    disruption contradicted it, or it is new), so the ratio shows what moved beyond;
    of the moved, `resequenced_operations` changed machine or place in their machine's list
    and `shifted_operations` kept both and only start at another time (`scheduler.stability`);
    `phases` the wall and CPU seconds of each phase of the solve; `tradeoff` a repaired
    replan's stable plan against re-dispatching (`Tradeoff`).
    """

    status: SolveStatus
    objective: float | None
    bound: float | None
    runtime: float
    plan: Plan | None = None
    explanations: tuple[str, ...] = ()
    first_solution_seconds: float | None = None
    reason: str | None = None
    unplaced: tuple[Unplaced, ...] = ()
    released: tuple[str, ...] = ()
    moved_operations: int | None = None
    affected_operations: int | None = None
    resequenced_operations: int | None = None
    shifted_operations: int | None = None
    phases: dict[str, dict[str, float]] = field(default_factory=dict)
    tradeoff: Tradeoff | None = None
