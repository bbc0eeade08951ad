"""The pure scheduling problem: what must be planned, on what, by when, and at which risk.

Every record is a frozen dataclass that validates itself on construction, so a backend never
has to defend against a half-valid problem. Time is integer units (minutes in the plant)
relative to the plan start; a negative start only appears for work already running.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from scheduler.objective_weights import ObjectiveWeights


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


@dataclass(frozen=True)
class Machine:
    """A resource that runs one operation at a time; `unavailable` are closed [start, end) spans
    (shift gaps, planned downtime, a breakdown) that no work may overlap. An `offline` machine
    takes no work and no maintenance at all: its operations move to their other machines."""

    name: str
    unavailable: tuple[tuple[int, int], ...] = ()
    offline: bool = False

    def __post_init__(self) -> None:
        _require(bool(self.name), "a machine needs a non-empty name")
        spans = sorted((int(s), int(e)) for s, e in self.unavailable)
        for start, end in spans:
            _require(end > start, f"machine {self.name}: unavailable span {start}-{end} is empty")
        merged: list[tuple[int, int]] = []  # sorted and disjoint: overlapping spans as one
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        object.__setattr__(self, "unavailable", tuple(merged))


@dataclass(frozen=True)
class Job:
    """An order: its operations may not start before `release` (a release in the past means
    now); finishing after `due` costs `weight` per unit of lateness; finishing after `deadline`
    (optional) costs the heavy `deadline_late` weight and is reported, so a deadline already
    missed makes the order late, never the plan impossible; `value` scales the expected
    failure cost of its work on a risky machine."""

    name: str
    release: int = 0
    due: int | None = None
    weight: float = 1.0
    deadline: int | None = None
    value: float = 1.0

    def __post_init__(self) -> None:
        _require(bool(self.name), "a job needs a non-empty name")
        if self.release < 0:  # released in the past: it may start now
            object.__setattr__(self, "release", 0)
        _require(self.weight >= 0, f"job {self.name}: weight {self.weight} is negative")
        _require(self.value >= 0, f"job {self.name}: value {self.value} is negative")


@dataclass(frozen=True)
class Operation:
    """Step `seq` (0, 1, ...) of `job`; runs on one of `options` (machine -> duration).

    With `preemptible_across_closures` it may start before a closed span of its machine (a
    night shift) and finish after it, paused meanwhile; otherwise it never straddles one."""

    job: str
    seq: int
    options: dict[str, int]
    preemptible_across_closures: bool = False

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
    origin: datetime | None = None  # the clock time of model time 0, for messages only

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
        by_job: dict[str, list[Operation]] = {j: [] for j in jobs}
        for op in sorted(self.operations, key=lambda o: (o.job, o.seq)):
            by_job[op.job].append(op)
        object.__setattr__(self, "_jobs_by_name", {j.name: j for j in self.jobs})
        object.__setattr__(self, "_op_by_key", ops)
        object.__setattr__(self, "_ops_by_job", {j: tuple(o) for j, o in by_job.items()})
        object.__setattr__(self, "_risk_by_machine", {r.machine: r for r in self.risks})
        object.__setattr__(self, "_machine_by_name", {m.name: m for m in self.machines})
        object.__setattr__(
            self, "_frozen", {p.key: p for p in self.previous if p.start < self.frozen_until}
        )
        object.__setattr__(self, "_previous_by_key", {p.key: p for p in self.previous})
        for planned in self.previous:
            known = ops.get(planned.key)
            _require(known is not None, f"previous plan has unknown operation {planned.key}")
            assert known is not None
            _require(
                planned.machine in known.options,
                f"previous plan puts {known.label} on ineligible machine {planned.machine}",
            )

    # Index maps, built once in __post_init__ so every lookup below is O(1).
    _jobs_by_name: dict[str, Job] = field(init=False, repr=False, compare=False)
    _op_by_key: dict[tuple[str, int], Operation] = field(init=False, repr=False, compare=False)
    _ops_by_job: dict[str, tuple[Operation, ...]] = field(init=False, repr=False, compare=False)
    _risk_by_machine: dict[str, MachineRisk] = field(init=False, repr=False, compare=False)
    _machine_by_name: dict[str, Machine] = field(init=False, repr=False, compare=False)
    _frozen: dict[tuple[str, int], PlannedOperation] = field(init=False, repr=False, compare=False)
    _previous_by_key: dict[tuple[str, int], PlannedOperation] = field(
        init=False, repr=False, compare=False
    )

    def finish(self, op: Operation, machine: str, start: int) -> int:
        """When `op` started at `start` on `machine` ends: `start + duration`, or for a
        preemptible operation later by the closed spans it pauses over."""
        duration = op.options[machine]
        if not op.preemptible_across_closures or start < 0:
            return start + duration
        t, left = start, duration
        for s, e in self.machine(machine).unavailable:
            if e <= t:
                continue
            if s >= t + left:
                break
            left -= max(0, s - t)
            t = max(t, e)
        return t + left

    def clock(self, t: int) -> str:
        """Model time `t` in a planner's words: a clock time when the origin is known."""
        if self.origin is None:
            return f"minute {t}"
        at = self.origin + timedelta(minutes=t)
        zone = at.strftime("%Z")
        return at.strftime("%a %Y-%m-%d %H:%M") + (f" {zone}" if zone else "")

    def job(self, name: str) -> Job:
        """The job called `name` (KeyError when there is none)."""
        return self._jobs_by_name[name]

    def machine(self, name: str) -> Machine:
        return self._machine_by_name[name]

    def operation(self, key: tuple[str, int]) -> Operation:
        return self._op_by_key[key]

    def risk(self, machine: str) -> MachineRisk | None:
        return self._risk_by_machine.get(machine)

    def job_operations(self, name: str) -> list[Operation]:
        """The operations of job `name` in seq order (empty for an unknown job)."""
        return list(self._ops_by_job.get(name, ()))

    def planned(self, key: tuple[str, int]) -> PlannedOperation | None:
        """Where the previous plan put operation `key`, if it did."""
        return self._previous_by_key.get(key)

    def frozen(self) -> dict[tuple[str, int], PlannedOperation]:
        """Operations of the previous plan that started before `frozen_until` stay put."""
        return self._frozen


def _unique(names: list[str], what: str) -> set[str]:
    seen: set[str] = set()
    for name in names:
        _require(name not in seen, f"{what} {name} appears twice")
        seen.add(name)
    return seen
