"""Settle a problem before it is solved, so a disruption or bad news never costs the whole plan.

Pure: a problem in, the problem the backend can always plan plus what was let go out.

- Frozen placements that a disruption contradicts are released, with their frozen successors:
  those on an offline machine, those overlapping a closed span of their machine (a breakdown),
  those before their job's release or before their predecessor ends, and the later of two that
  overlap on one machine. Released work is planned again like any other.
- An offline machine drops out of every operation's options (its work moves to the others)
  and its maintenance is left out.
- Work that no eligible machine can take before the horizon ends (all its machines offline or
  closed, or its job too long for what is left of the horizon) is left out with its job's
  later steps, and each is reported as `Unplaced` in words: "J07/1 waiting for M3 (offline)".
- A maintenance task needing more crew than exists, or finding no window, is left out the
  same way.

What remains is feasible for the hard rules of the model except for conflicts among several
jobs at once (the solver explains those).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace

from scheduler.plan import Unplaced
from scheduler.problem import Machine, Operation, PlannedOperation, Problem

OpKey = tuple[str, int]


@dataclass(frozen=True)
class Settled:
    """The plannable problem, the work left out and the frozen placements let go."""

    problem: Problem
    unplaced: tuple[Unplaced, ...] = ()
    released: tuple[PlannedOperation, ...] = ()
    notes: tuple[str, ...] = ()  # one sentence per released placement

    @property
    def changed(self) -> bool:
        return bool(self.unplaced or self.released)


def settle(problem: Problem) -> Settled:
    """The part of `problem` that can be planned, and what could not, in words."""
    offline = {m.name for m in problem.machines if m.offline}
    options = {
        op.key: {m: d for m, d in op.options.items() if m not in offline}
        for op in problem.operations
    }
    released, notes = _release_frozen(problem, offline)
    keep_previous = [p for p in problem.previous if p.key not in released]
    frozen = {p.key: p for p in keep_previous if p.start < problem.frozen_until}
    unplaced: list[Unplaced] = []
    dropped: set[OpKey] = set()
    for job in problem.jobs:
        ops = problem.job_operations(job.name)
        ready = job.release
        first: Operation | None = None
        for op in ops:
            if first is not None:
                unplaced.append(Unplaced(op.label, f"{op.label} follows {first.label}, "
                                         "which cannot be placed"))  # fmt: skip
                dropped.add(op.key)
                continue
            planned = frozen.get(op.key)
            if planned is not None:
                ready = planned.start + op.options[planned.machine]
                continue
            reason = _no_window(problem, op, ready, offline)
            if reason is not None:
                unplaced.append(Unplaced(op.label, reason))
                dropped.add(op.key)
                first = op
                continue
            ready = min(
                _fit(problem.machine(m).unavailable, ready, d) + d
                for m, d in options[op.key].items()
            )
    maintenance = []
    for task in problem.maintenance:
        machine = problem.machine(task.machine)
        if machine.offline:
            reason = f"maintenance {task.name} waits for {task.machine} (offline)"
        elif task.crew > problem.crew_size:
            reason = (
                f"maintenance {task.name} on {task.machine} needs {task.crew} maintainers, "
                f"the crew has {problem.crew_size}"
            )
        elif _fit(machine.unavailable, task.release, task.duration) + task.duration > (
            problem.horizon
        ):
            reason = (
                f"maintenance {task.name} finds no {task.duration}-minute window on "
                f"{task.machine} before the plan ends at {problem.clock(problem.horizon)}"
            )
        else:
            maintenance.append(task)
            continue
        unplaced.append(Unplaced(task.name, reason))
    options_changed = any(len(options[op.key]) != len(op.options) for op in problem.operations)
    if not (released or unplaced or options_changed):
        return Settled(problem)
    settled = replace(
        problem,
        operations=tuple(
            op if len(options[op.key]) == len(op.options) else replace(op, options=options[op.key])
            for op in problem.operations
            if op.key not in dropped
        ),
        previous=tuple(
            p for p in keep_previous if p.key not in dropped and p.machine in options[p.key]
        ),
        maintenance=tuple(maintenance),
    )
    let_go = tuple(p for p in problem.previous if p.key in released)
    return Settled(settled, tuple(unplaced), let_go, tuple(notes[k] for k in released))


def _release_frozen(
    problem: Problem, offline: set[str]
) -> tuple[dict[OpKey, str], dict[OpKey, str]]:
    """Frozen placements a disruption contradicts, each with the sentence saying why."""
    released: dict[OpKey, str] = {}
    kept: dict[OpKey, PlannedOperation] = {}
    frozen = problem.frozen()
    for job in problem.jobs:
        end: int | None = job.release
        cause: str | None = None
        for op in problem.job_operations(job.name):
            planned = frozen.get(op.key)
            if planned is None:
                end, cause = None, cause or f"{op.label} before it is not frozen"
                continue
            span = (planned.start, planned.start + op.options[planned.machine])
            why = cause
            if why is None and planned.machine in offline:
                why = f"{planned.machine} is offline"
            if why is None:
                closed = _overlap(problem.machine(planned.machine), span)
                if op.preemptible_across_closures and closed and closed[0] > planned.start:
                    closed = None  # it pauses over the closure
                if closed is not None:
                    why = (
                        f"{planned.machine} is down {problem.clock(closed[0])} to "
                        f"{problem.clock(closed[1])}"
                    )
            if why is None and end is not None and planned.start >= 0 and planned.start < end:
                why = f"it would start before {problem.clock(end)}"
            if why is not None:
                released[op.key] = why
                cause = cause or f"{op.label} was let go"
                continue
            kept[op.key] = planned
            end = span[1]
    by_machine: dict[str, list[PlannedOperation]] = {}
    for planned in kept.values():
        by_machine.setdefault(planned.machine, []).append(planned)
    for machine, placed in by_machine.items():
        placed.sort(key=lambda p: (p.start, p.key))
        busy_until: int | None = None
        for planned in placed:
            length = problem.operation(planned.key).options[machine]
            if busy_until is not None and planned.start < busy_until:
                released[planned.key] = f"it overlaps other frozen work on {machine}"
                for later in problem.job_operations(planned.job)[planned.seq + 1 :]:
                    if later.key in kept and later.key not in released:
                        released[later.key] = f"{planned.job}/{planned.seq} was let go"
                continue
            busy_until = planned.start + length
    notes = {
        key: f"frozen {key[0]}/{key[1]} on {_machine_of(problem, key)} let go: {why}"
        for key, why in released.items()
    }
    return released, notes


def _machine_of(problem: Problem, key: OpKey) -> str:
    planned = problem.planned(key)
    return planned.machine if planned else "?"


def _overlap(machine: Machine, span: tuple[int, int]) -> tuple[int, int] | None:
    start, end = span
    return next(((s, e) for s, e in machine.unavailable if s < end and start < e), None)


def _no_window(problem: Problem, op: Operation, ready: int, offline: set[str]) -> str | None:
    """Why no eligible machine can take `op` from `ready` before the horizon; None if one can."""
    horizon = problem.horizon
    waits = []
    for machine, duration in op.options.items():
        if machine in offline:
            waits.append(f"{machine} (offline, down until further notice)")
            continue
        start = _fit(problem.machine(machine).unavailable, ready, duration)
        if start + duration <= horizon:
            return None
        closed = [(s, e) for s, e in problem.machine(machine).unavailable if e > ready]
        if closed and closed[-1][1] > horizon - duration:
            waits.append(f"{machine} (down until {problem.clock(closed[-1][1])})")
        else:
            waits.append(f"{machine} (earliest end {problem.clock(start + duration)})")
    if all("down until" in w for w in waits):
        return f"{op.label} waiting for {', '.join(waits)}"
    return (
        f"{op.label} cannot finish before the plan ends at {problem.clock(horizon)}: "
        f"ready at {problem.clock(ready)}, on {', '.join(waits)}"
    )


def _fit(closed: tuple[tuple[int, int], ...], ready: int, duration: int) -> int:
    """First start >= ready where `duration` fits between the (sorted, disjoint) closed spans."""
    t = ready
    starts = [s for s, _ in closed]
    i = max(0, bisect.bisect_right(starts, t) - 1)
    for start, end in closed[i:]:
        if end <= t:
            continue
        if start >= t + duration:
            break
        t = max(t, end)
    return t
