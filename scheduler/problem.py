"""The pure scheduling problem: what must be planned, on what, by when, and at which risk.

Every record is a frozen dataclass that validates itself on construction, so a backend never
has to defend against a half-valid problem. Time is integer units (minutes in the plant)
relative to the plan start; a negative start only appears for work already running.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from scheduler.objective_weights import ObjectiveWeights


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class Machine:
    """A resource that runs one operation at a time; `unavailable` are closed [start, end) spans
    (shift gaps, planned downtime) that no work may overlap."""

    name: str
    unavailable: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        _require(bool(self.name), "a machine needs a non-empty name")
        object.__setattr__(self, "unavailable", tuple(tuple(span) for span in self.unavailable))
        for start, end in self.unavailable:
            _require(end > start, f"machine {self.name}: unavailable span {start}-{end} is empty")


@dataclass(frozen=True)
class Job:
    """An order: its operations may not start before `release`; finishing after `due` costs
    `weight` per unit of lateness; `deadline` (optional) is a hard limit; `value` scales the
    expected failure cost of its work on a risky machine."""

    name: str
    release: int = 0
    due: int | None = None
    weight: float = 1.0
    deadline: int | None = None
    value: float = 1.0

    def __post_init__(self) -> None:
        _require(bool(self.name), "a job needs a non-empty name")
        _require(self.release >= 0, f"job {self.name}: release {self.release} is negative")
        _require(self.weight >= 0, f"job {self.name}: weight {self.weight} is negative")
        _require(self.value >= 0, f"job {self.name}: value {self.value} is negative")
        if self.deadline is not None:
            _require(
                self.deadline > self.release,
                f"job {self.name}: deadline {self.deadline} is not after release {self.release}",
            )


@dataclass(frozen=True)
class Operation:
    """Step `seq` (0, 1, ...) of `job`; runs on one of `options` (machine -> duration)."""

    job: str
    seq: int
    options: dict[str, int]

    def __post_init__(self) -> None:
        _require(self.seq >= 0, f"operation {self.job}/{self.seq}: seq must be >= 0")
        _require(bool(self.options), f"operation {self.job}/{self.seq} has no eligible machine")
        for machine, duration in self.options.items():
            _require(
                duration > 0,
                f"operation {self.job}/{self.seq}: duration {duration} on {machine} must be > 0",
            )

    @property
    def key(self) -> tuple[str, int]:
        return (self.job, self.seq)

    @property
    def label(self) -> str:
        return f"{self.job}/{self.seq}"

    def __hash__(self) -> int:
        return hash(self.key)


@dataclass(frozen=True)
class SetupTime:
    """Changeover on `machine` between an operation of `from_job` and a later one of `to_job`.

    Enforced pairwise, which is exact when setups obey the triangle inequality (the usual case).
    """

    machine: str
    from_job: str
    to_job: str
    duration: int

    def __post_init__(self) -> None:
        _require(self.duration >= 0, f"setup {self.from_job}->{self.to_job} is negative")
        _require(self.from_job != self.to_job, "a setup time needs two different jobs")


@dataclass(frozen=True)
class MaintenanceTask:
    """Work on `machine` that takes `crew` maintainers for `duration`; must finish by `deadline`
    (soft: lateness is penalised and reported); `cause` names the risk that asked for it."""

    name: str
    machine: str
    duration: int
    release: int = 0
    deadline: int | None = None
    crew: int = 1
    cost: float = 0.0
    cause: str | None = None

    def __post_init__(self) -> None:
        _require(bool(self.name), "a maintenance task needs a non-empty name")
        _require(self.duration > 0, f"maintenance {self.name}: duration must be > 0")
        _require(self.release >= 0, f"maintenance {self.name}: release must be >= 0")
        _require(self.crew >= 1, f"maintenance {self.name}: crew must be >= 1")
        _require(self.cost >= 0, f"maintenance {self.name}: cost must be >= 0")


@dataclass(frozen=True)
class MachineRisk:
    """The latest risk score of a machine: failure probability within `window` time units,
    the low quantile of remaining useful life, and (optionally) the hazard rate per unit.

    Without an explicit hazard it follows from `p_fail` under a constant-rate assumption.
    """

    machine: str
    p_fail: float
    rul_low: int | None = None
    hazard: float | None = None
    window: int = 1440

    def __post_init__(self) -> None:
        _require(0.0 <= self.p_fail < 1.0, f"risk of {self.machine}: p_fail must be in [0, 1)")
        _require(self.window > 0, f"risk of {self.machine}: window must be > 0")
        if self.rul_low is not None:
            _require(self.rul_low >= 0, f"risk of {self.machine}: rul_low must be >= 0")
        if self.hazard is not None:
            _require(self.hazard >= 0, f"risk of {self.machine}: hazard must be >= 0")

    @property
    def rate(self) -> float:
        """Failures per time unit; the solver multiplies it by work length and value."""
        if self.hazard is not None:
            return self.hazard
        return -math.log1p(-self.p_fail) / self.window

    def describe(self) -> str:
        rul = "beyond horizon" if self.rul_low is None else f"rul_low={self.rul_low}"
        return f"risk {self.machine}: p_fail={self.p_fail:.2f}, {rul}, hazard={self.rate:.2e}"


@dataclass(frozen=True)
class PlannedOperation:
    """Where and when an operation ran in a previous plan (used to freeze and to warm-start)."""

    job: str
    seq: int
    machine: str
    start: int

    @property
    def key(self) -> tuple[str, int]:
        return (self.job, self.seq)


@dataclass(frozen=True)
class Problem:
    """Everything the solver needs, cross-checked for dangling references on construction."""

    machines: tuple[Machine, ...]
    jobs: tuple[Job, ...]
    operations: tuple[Operation, ...]
    horizon: int
    setups: tuple[SetupTime, ...] = ()
    maintenance: tuple[MaintenanceTask, ...] = ()
    risks: tuple[MachineRisk, ...] = ()
    crew_size: int = 1
    previous: tuple[PlannedOperation, ...] = ()
    frozen_until: int = 0
    weights: ObjectiveWeights = field(default_factory=ObjectiveWeights)
    # Index maps, built once in __post_init__ so backends look things up in constant time.
    _jobs_by_name: dict[str, Job] = field(init=False, repr=False, compare=False)
    _ops_by_job: dict[str, tuple[Operation, ...]] = field(init=False, repr=False, compare=False)
    _risk_by_machine: dict[str, MachineRisk] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("machines", "jobs", "operations", "setups", "maintenance", "risks"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "previous", tuple(self.previous))
        _require(self.horizon > 0, f"horizon {self.horizon} must be > 0")
        _require(self.crew_size >= 0, f"crew size {self.crew_size} must be >= 0")
        machines = _unique([m.name for m in self.machines], "machine")
        jobs = _unique([j.name for j in self.jobs], "job")
        _unique([t.name for t in self.maintenance], "maintenance task")
        _unique([r.machine for r in self.risks], "risk for machine")
        seqs: dict[str, list[int]] = {}
        for op in self.operations:
            _require(op.job in jobs, f"operation {op.label} refers to unknown job {op.job}")
            for machine in op.options:
                _require(machine in machines, f"operation {op.label}: unknown machine {machine}")
            seqs.setdefault(op.job, []).append(op.seq)
        for job, found in seqs.items():
            expected = list(range(len(found)))
            _require(sorted(found) == expected, f"job {job}: operation seqs must be 0..n-1")
        for task in self.maintenance:
            _require(task.machine in machines, f"maintenance {task.name}: unknown machine")
        for risk in self.risks:
            _require(risk.machine in machines, f"risk refers to unknown machine {risk.machine}")
        for setup in self.setups:
            _require(setup.machine in machines, f"setup on unknown machine {setup.machine}")
            _require({setup.from_job, setup.to_job} <= jobs, "setup refers to an unknown job")
        ops = {op.key: op for op in self.operations}
        for planned in self.previous:
            known = ops.get(planned.key)
            _require(known is not None, f"previous plan has unknown operation {planned.key}")
            assert known is not None
            _require(
                planned.machine in known.options,
                f"previous plan puts {known.label} on ineligible machine {planned.machine}",
            )
        by_job: dict[str, list[Operation]] = {job.name: [] for job in self.jobs}
        for op in self.operations:
            by_job[op.job].append(op)
        object.__setattr__(self, "_jobs_by_name", {j.name: j for j in self.jobs})
        object.__setattr__(
            self,
            "_ops_by_job",
            {name: tuple(sorted(ops, key=lambda o: o.seq)) for name, ops in by_job.items()},
        )
        object.__setattr__(self, "_risk_by_machine", {r.machine: r for r in self.risks})

    def job(self, name: str) -> Job:
        """The job called `name` (KeyError when there is none)."""
        return self._jobs_by_name[name]

    def risk(self, machine: str) -> MachineRisk | None:
        return self._risk_by_machine.get(machine)

    def job_operations(self, name: str) -> list[Operation]:
        """The operations of job `name` in seq order (empty for an unknown job)."""
        return list(self._ops_by_job.get(name, ()))

    def frozen(self) -> dict[tuple[str, int], PlannedOperation]:
        """Operations of the previous plan that started before `frozen_until` stay put."""
        return {p.key: p for p in self.previous if p.start < self.frozen_until}


def _unique(names: list[str], what: str) -> set[str]:
    seen: set[str] = set()
    for name in names:
        _require(name not in seen, f"{what} {name} appears twice")
        seen.add(name)
    return seen
