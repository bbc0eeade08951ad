"""Dispatching rules: fast, risk-blind plans used as the solver's warm start and as the
benchmark's baseline.

The dispatcher is Giffler-Thompson style: among the next operation of every job, find the one
that can finish first; among those that could start before that, pick by the rule (EDD, MWKR,
SPT), with optional random tie-breaking. Operations go to the machine where they finish
earliest, gaps included. Maintenance is placed just in time before its deadline, as a plant
that ignores risk would do; frozen work stays where it was.
"""

from __future__ import annotations

import bisect
import random

from scheduler.plan import Plan
from scheduler.plan_builder import Placements, build_plan
from scheduler.problem import Operation, Problem

RULES = ("edd", "mwkr", "spt")


def dispatch_plan(problem: Problem, rule: str = "edd", seed: int | None = None) -> Plan:
    """A complete plan by one rule (ties broken at random when `seed` is given)."""
    ops, maint = dispatch(problem, rule, seed)
    return build_plan(problem, ops, maint)


def dispatch(
    problem: Problem, rule: str = "edd", seed: int | None = None
) -> tuple[Placements, dict[str, int]]:
    """Placements by `rule`; fast enough to call many times for the best warm start."""
    if rule not in RULES:
        raise ValueError(f"unknown dispatching rule {rule!r}; expected one of {RULES}")
    rng = random.Random(seed) if seed is not None else None
    busy: dict[str, list[tuple[int, int]]] = {
        m.name: sorted(m.unavailable) for m in problem.machines
    }
    placed: Placements = {}
    for key, planned in problem.frozen().items():
        op = problem.operation(key)
        _occupy(busy[planned.machine], planned.start, planned.start + op.options[planned.machine])
        placed[key] = (planned.machine, planned.start)
    maint = _place_maintenance(problem, busy)
    by_job = {j.name: problem.job_operations(j.name) for j in problem.jobs}
    remaining = {j: sum(min(o.options.values()) for o in ops) for j, ops in by_job.items()}
    ready_at = {j.name: j.release for j in problem.jobs}
    cursor = dict.fromkeys(by_job, 0)
    due = {
        j.name: (j.due if j.due is not None else problem.horizon, j.release) for j in problem.jobs
    }
    best: dict[str, tuple[int, int, str]] = {}  # job -> (end, start, machine) of its next op
    while True:
        for job, ops in by_job.items():
            while cursor[job] < len(ops) and ops[cursor[job]].key in placed:
                op = ops[cursor[job]]
                machine, start = placed[op.key]
                ready_at[job] = max(ready_at[job], start + op.options[machine])
                remaining[job] -= min(op.options.values())
                cursor[job] += 1
                best.pop(job, None)
            if cursor[job] < len(ops) and job not in best:
                best[job] = _earliest(ops[cursor[job]], ready_at[job], busy)
        if not best:
            break
        first_end = min(b[0] for b in best.values())
        candidates = [j for j, b in best.items() if b[1] < first_end]
        if rng is not None and rng.random() < 0.15:
            job = rng.choice(candidates)
        else:
            job = min(
                candidates,
                key=lambda j: _priority(rule, j, best[j], due, remaining, by_job, cursor),
            )
        end, start, machine = best.pop(job)
        op = by_job[job][cursor[job]]
        _occupy(busy[machine], start, end)
        placed[op.key] = (machine, start)
        for other, (_, _, m) in list(best.items()):
            if m == machine:
                best.pop(other)
    return placed, maint


def _priority(rule, job, best, due, remaining, by_job, cursor) -> tuple:  # type: ignore[no-untyped-def]
    end, start, _ = best
    if rule == "edd":
        return (due[job], start, job)
    if rule == "mwkr":
        return (-remaining[job], start, job)
    return (end - start, start, job)


def _earliest(
    op: Operation, ready: int, busy: dict[str, list[tuple[int, int]]]
) -> tuple[int, int, str]:
    """(end, start, machine) of the earliest-finishing placement of `op` from `ready` on."""
    options = []
    for machine, duration in op.options.items():
        start = _fit(busy[machine], ready, duration)
        options.append((start + duration, start, machine))
    return min(options)


def _fit(busy: list[tuple[int, int]], ready: int, duration: int) -> int:
    """First start >= ready where `duration` fits between the (sorted) busy spans."""
    candidate = ready
    for start, end in busy:
        if end <= candidate:
            continue
        if start >= candidate + duration:
            break
        candidate = max(candidate, end)
    return candidate


def _occupy(busy: list[tuple[int, int]], start: int, end: int) -> None:
    bisect.insort(busy, (start, end))


def _place_maintenance(problem: Problem, busy: dict[str, list[tuple[int, int]]]) -> dict[str, int]:
    """Just in time: as late as the deadline allows, earlier if the crew or machine is busy."""
    crew: list[tuple[int, int, int]] = []
    starts: dict[str, int] = {}
    tasks = sorted(problem.maintenance, key=lambda t: (t.deadline is None, t.deadline or 0))
    for task in tasks:
        latest = (
            task.release
            if task.deadline is None
            else max(task.release, task.deadline - task.duration)
        )
        spans = busy[task.machine] + [(s, e) for s, e, _ in crew]
        points = {latest, *(e for _, e in spans), *(s - task.duration for s, _ in spans)}
        order = sorted(points, key=lambda t: (t > latest, -t if t <= latest else t))
        start = latest
        for candidate in order:
            if candidate < task.release:
                continue
            if (
                _crew_ok(crew, candidate, candidate + task.duration, task.crew, problem.crew_size)
                and _fit(busy[task.machine], candidate, task.duration) == candidate
            ):
                start = candidate
                break
        _occupy(busy[task.machine], start, start + task.duration)
        crew.append((start, start + task.duration, task.crew))
        starts[task.name] = start
    return starts


def _crew_ok(crew: list[tuple[int, int, int]], start: int, end: int, need: int, size: int) -> bool:
    points = [start] + [s for s, _, _ in crew if start <= s < end]
    return all(sum(c for s, e, c in crew if s <= p < e) + need <= size for p in points)
