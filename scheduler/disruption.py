"""What happens on the shop floor between two plans, as edits of a problem (pure).

Each returns the problem the next replan sees; the previous plan's placements stay in
`previous`, so the replan's stability term and `moved_operations` measure how much moved, and
`scheduler.settle` lets go of the frozen work a disruption contradicts.
"""

from __future__ import annotations

from dataclasses import replace

from scheduler.plan import Plan
from scheduler.problem import Job, Machine, Operation, PlannedOperation, Problem


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


def _clip(machine: Machine) -> Machine:
    """Closed spans that started before now start now."""
    spans = tuple((max(0, s), e) for s, e in machine.unavailable if e > 0)
    return replace(machine, unavailable=spans)
