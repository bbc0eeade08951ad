"""What happens on the shop floor between two plans, as edits of a problem (pure).

Each returns the problem the next replan sees; the previous plan's placements stay in
`previous`, so the replan's stability term and `moved_operations` measure how much moved, and
`scheduler.settle` lets go of the frozen work a disruption contradicts.
"""

from __future__ import annotations

from dataclasses import replace

from scheduler.dispatch import Calendar
from scheduler.plan import Plan
from scheduler.problem import Job, Machine, Operation, PlannedOperation, Problem
from scheduler.settle import settle


def replan_of(problem: Problem, plan: Plan, shift: int = 0) -> Problem:
    """The problem `shift` time units later, with `plan` as the previous plan: its placements
    move back by `shift`, and work that has started by then is frozen with the window."""
    previous = tuple(
        PlannedOperation(o.job, o.seq, o.machine, o.start - shift) for o in plan.operations
    )
    jobs = tuple(
        replace(
            j,
            release=j.release - shift,
            due=None if j.due is None else j.due - shift,
            deadline=None if j.deadline is None else j.deadline - shift,
        )
        for j in problem.jobs
    )
    machines = tuple(
        replace(m, unavailable=tuple((s - shift, e - shift) for s, e in m.unavailable if e > shift))
        for m in problem.machines
    )
    maintenance = tuple(
        replace(
            t,
            release=max(0, t.release - shift),
            deadline=None if t.deadline is None else max(0, t.deadline - shift),
        )
        for t in problem.maintenance
    )
    risks = tuple(
        replace(r, rul_low=None if r.rul_low is None else max(0, r.rul_low - shift))
        for r in problem.risks
    )
    return replace(
        problem,
        jobs=jobs,
        machines=tuple(_clip(m) for m in machines),
        maintenance=maintenance,
        risks=risks,
        previous=previous,
    )


def breakdown(problem: Problem, machine: str, start: int, end: int) -> Problem:
    """`machine` is down over [start, end): a closed span in its calendar."""
    return replace(
        problem,
        machines=tuple(
            replace(m, unavailable=(*m.unavailable, (start, end))) if m.name == machine else m
            for m in problem.machines
        ),
    )


def offline(problem: Problem, machine: str) -> Problem:
    """`machine` goes offline until further notice."""
    return replace(
        problem,
        machines=tuple(
            replace(m, offline=True) if m.name == machine else m for m in problem.machines
        ),
    )


def rush(problem: Problem, job: Job, operations: tuple[Operation, ...]) -> Problem:
    """A new order arrives."""
    return replace(
        problem, jobs=(*problem.jobs, job), operations=(*problem.operations, *operations)
    )


def cancel(problem: Problem, name: str) -> Problem:
    """An order is cancelled: it leaves the problem and the previous plan."""
    return replace(
        problem,
        jobs=tuple(j for j in problem.jobs if j.name != name),
        operations=tuple(o for o in problem.operations if o.job != name),
        previous=tuple(p for p in problem.previous if p.job != name),
        setups=tuple(s for s in problem.setups if name not in (s.from_job, s.to_job)),
    )


def pin_unaffected(problem: Problem) -> Problem:
    """`problem` with every previous placement frozen, so `scheduler.settle` lets go of exactly
    the work a disruption contradicts (on an offline machine, over a new closed span, before
    its release, overlapping other kept work) with its jobs' later steps, and the replan moves
    only that work and places the new: the replan scope `affected`.

    Maintenance is not part of a previous plan; where pinned work would push a machine's
    maintenance past its deadline (a breakdown took the window it had), the work in the
    earliest window it could have is let go too (`_blocking`); and so is the work in the way
    of a new order with a due date, between its release and its due date on the machines it
    may use (`_in_the_way`), so a rush order need not wait for the end of the plan. Whether
    that work actually moves is the stability term's call. Work in the frozen window stays.
    """
    if not problem.previous:
        return problem
    last = max(p.start for p in problem.previous)
    pinned = replace(problem, frozen_until=max(problem.frozen_until, last + 1))
    released = {p.key for p in settle(pinned).released}
    committed = problem.frozen_until
    blocking = _blocking(pinned, released, committed) | _in_the_way(pinned, released, committed)
    if blocking:
        kept = tuple(p for p in pinned.previous if p.key not in blocking)
        pinned = replace(pinned, previous=kept)
    return pinned


def affected_operations(problem: Problem) -> set[tuple[str, int]]:
    """Operations with no valid previous placement: the previous plan's work a disruption
    contradicts (or that stands in the way of maintenance due), with its jobs' later steps,
    and work never planned (a new order). The rest of the previous plan can stay."""
    pinned = pin_unaffected(problem)
    let_go = {p.key for p in settle(pinned).released}
    dropped = {p.key for p in problem.previous} - {p.key for p in pinned.previous}
    new = {op.key for op in problem.operations if problem.planned(op.key) is None}
    return let_go | dropped | new


def _blocking(
    problem: Problem, released: set[tuple[str, int]], committed: int
) -> set[tuple[str, int]]:
    """Kept work on a machine whose maintenance it would make late, in the window the
    maintenance could take without it (work starting before `committed` stays)."""
    offline = {m.name for m in problem.machines if m.offline}
    found: set[tuple[str, int]] = set()
    for task in problem.maintenance:
        if task.deadline is None or task.machine in offline:
            continue
        machine = problem.machine(task.machine)
        kept = [
            (p.start, problem.finish(problem.operation(p.key), p.machine, p.start), p.key)
            for p in problem.previous
            if p.machine == task.machine and p.key not in released
        ]
        alone = Calendar(machine.unavailable).fit(task.release, task.duration)
        busy = Calendar(machine.unavailable)
        for start, end, _ in kept:
            busy.occupy(start, end)
        if busy.fit(task.release, task.duration) + task.duration <= task.deadline:
            continue  # there is still room in time
        window = (alone, alone + task.duration)
        found.update(
            key
            for start, end, key in kept
            if start < window[1] and window[0] < end and start >= committed
        )
    return found


def _in_the_way(
    problem: Problem, released: set[tuple[str, int]], committed: int
) -> set[tuple[str, int]]:
    """Kept work in the way of a new order with a due date: on a machine its operations may
    use, overlapping the span from its earliest start to its due date (or, overdue, to the
    earliest it could finish); work starting before `committed` stays."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for job in problem.jobs:
        ops = problem.job_operations(job.name)
        if job.due is None or not ops or any(problem.planned(op.key) for op in ops):
            continue
        begin = max(0, job.release, committed)
        need = sum(min(op.options.values()) for op in ops)
        end = max(job.due, begin + need)
        for op in ops:
            for machine in op.options:
                spans.setdefault(machine, []).append((begin, end))
    found: set[tuple[str, int]] = set()
    if not spans:
        return found
    for p in problem.previous:
        if p.key in released or p.start < committed or p.machine not in spans:
            continue
        finish = problem.finish(problem.operation(p.key), p.machine, p.start)
        if any(p.start < e and s < finish for s, e in spans[p.machine]):
            found.add(p.key)
    return found


def _clip(machine: Machine) -> Machine:
    """Closed spans that started before now start now."""
    spans = tuple((max(0, s), e) for s, e in machine.unavailable if e > 0)
    return replace(machine, unavailable=spans)
