"""Dispatching rules: fast, risk-blind plans used as the solver's warm start, its fallback
(`feasible (dispatch)`) and the benchmark's baseline.

A list scheduler driven by a heap, O(n log n) in the number of operations: the next operation
of every job waits in the heap keyed by (earliest start, bucketed; rule priority). The popped
operation's earliest start is recomputed on today's machine calendars; if it slipped to a later
bucket it goes back into the heap (lazy update), otherwise it is placed on the machine where it
finishes earliest, filling gaps. Rules: EDD (due date), MWKR (most work remaining), SPT
(shortest step); a seed adds random tie-breaking for the warm start's extra passes. Each
machine's calendar is a sorted list of disjoint busy spans, merged as they touch, searched by
bisection. Maintenance is placed just in time before its deadline, as a plant that ignores
risk would do; frozen work stays where it was; nothing runs past a risky machine's predicted
failure (`rul_low`) before its maintenance.

The `repair` rule is for replans: every job first keeps the longest prefix of its previous
placements that still fits; the rest goes in the order of their previous starts, each at its
previous machine and start when that is still free and its predecessor is done, otherwise at
the earliest finish on any eligible machine; new work goes by EDD among them. After a
disruption this moves what the disruption touched and the work behind it, and little else.
"""

from __future__ import annotations

import bisect
import heapq
import random

from scheduler.plan import Plan
from scheduler.plan_builder import Placements, build_plan
from scheduler.problem import Operation, Problem
from scheduler.risk import reset_task

RULES = ("edd", "mwkr", "spt")
REPAIR = "repair"  # keep the previous plan where it still holds, dispatch the rest by EDD


class Calendar:
    """Busy spans of one machine, sorted and disjoint (touching spans are merged)."""

    __slots__ = ("ends", "starts")

    def __init__(self, spans: tuple[tuple[int, int], ...] | list[tuple[int, int]] = ()) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        for start, end in sorted(spans):
            self.occupy(start, end)

    def fit(self, ready: int, duration: int) -> int:
        """First start >= ready where `duration` fits between busy spans."""
        t = ready
        i = bisect.bisect_right(self.ends, t)
        starts, ends = self.starts, self.ends
        while i < len(starts) and starts[i] < t + duration:
            t = max(t, ends[i])
            i += 1
        return t

    def occupy(self, start: int, end: int) -> None:
        """Mark [start, end) busy, merging with the spans it overlaps or touches."""
        starts, ends = self.starts, self.ends
        i = bisect.bisect_left(ends, start)  # first span ending at or after start
        j = i
        while j < len(starts) and starts[j] <= end:
            start, end = min(start, starts[j]), max(end, ends[j])
            j += 1
        starts[i:j] = [start]
        ends[i:j] = [end]


def dispatch_plan(problem: Problem, rule: str = "edd", seed: int | None = None) -> Plan:
    """A complete plan by one rule (ties broken at random when `seed` is given)."""
    ops, maint = dispatch(problem, rule, seed)
    return build_plan(problem, ops, maint)


def dispatch(
    problem: Problem, rule: str = "edd", seed: int | None = None, early_maintenance: bool = False
) -> tuple[Placements, dict[str, int]]:
    """Placements by `rule`; fast enough to call many times for the best warm start.

    Maintenance goes just in time (risk-blind, the baseline), or with `early_maintenance` as
    soon as it may, so the risky machine's work comes after it (a risk-aware warm start)."""
    if rule not in (*RULES, REPAIR):
        raise ValueError(f"unknown dispatching rule {rule!r}; expected one of {RULES}")
    rng = random.Random(seed) if seed is not None else None
    busy = {m.name: Calendar(m.unavailable) for m in problem.machines}
    placed: Placements = {}
    for key, planned in problem.frozen().items():
        op = problem.operation(key)
        busy[planned.machine].occupy(planned.start, planned.start + op.options[planned.machine])
        placed[key] = (planned.machine, planned.start)
    maint = _place_maintenance(problem, busy, early_maintenance)
    for risk in problem.risks:  # no unmaintained work past predicted failure
        task = reset_task(problem, risk.machine)
        cleared = maint.get(task.name) if task is not None else None
        if risk.rul_low is not None and cleared is not None and cleared > risk.rul_low:
            busy[risk.machine].occupy(risk.rul_low, cleared)
    repair = rule == REPAIR
    if repair:
        _keep_previous(problem, busy, placed)
        rule = "edd"
    setups: dict[tuple[str, str, str], int] = {
        (s.machine, s.from_job, s.to_job): s.duration for s in problem.setups
    }
    setup_machines = {s.machine for s in problem.setups}
    last_on: dict[str, tuple[int, str]] = {}  # setup machines: (end, job) of the last operation
    jobs = [j for j in problem.jobs if problem.job_operations(j.name)]
    ops_of = {j.name: problem.job_operations(j.name) for j in jobs}
    mins = [min(op.options.values()) for op in problem.operations]
    bucket = max(1, sum(mins) // max(1, len(mins)))
    remaining = {j.name: sum(min(o.options.values()) for o in ops_of[j.name]) for j in jobs}
    heap: list[tuple[int, float, int, int]] = []
    cursor: dict[str, int] = {}
    ready: dict[str, int] = {}

    def advance(index: int) -> None:
        """Move job `index` past its frozen operations and queue its next one."""
        job = jobs[index]
        ops = ops_of[job.name]
        k = cursor.get(job.name, 0)
        t = ready.get(job.name, job.release)
        while k < len(ops) and ops[k].key in placed:
            machine, start = placed[ops[k].key]
            t = max(t, start + ops[k].options[machine])
            remaining[job.name] -= min(ops[k].options.values())
            k += 1
        cursor[job.name], ready[job.name] = k, t
        if k < len(ops):
            prio = _priority(rule, job.due, job.release, remaining[job.name], ops[k], problem)
            planned = problem.planned(ops[k].key) if repair else None
            if planned is not None:  # previous start first, at its old turn
                heapq.heappush(heap, (max(t, planned.start) // bucket, planned.start, index, t))
                return
            if rng is not None and rng.random() < 0.15:
                prio = rng.random() * prio if prio > 0 else prio
            heapq.heappush(heap, (t // bucket, prio, index, t))

    def earliest(op: Operation, t: int) -> tuple[int, int, str]:
        best: tuple[int, int, str] | None = None
        for machine, duration in op.options.items():
            start = t
            if machine in setup_machines and machine in last_on:
                end, before = last_on[machine]
                start = max(start, end + setups.get((machine, before, op.job), 0))
            start = busy[machine].fit(start, duration)
            option = (start + duration, start, machine)
            if best is None or option < best:
                best = option
        assert best is not None
        return best

    for index in range(len(jobs)):
        advance(index)
    while heap:
        slot, prio, index, t = heapq.heappop(heap)
        job = jobs[index]
        op = ops_of[job.name][cursor[job.name]]
        target = problem.planned(op.key) if repair else None
        kept = None
        if target is not None and target.start >= t and target.machine not in setup_machines:
            length = op.options[target.machine]
            if busy[target.machine].fit(target.start, length) == target.start:
                kept = (target.start + length, target.start, target.machine)
        end, start, machine = kept or earliest(op, t)
        if start // bucket > slot:  # slipped: wait for its new turn
            heapq.heappush(heap, (start // bucket, prio, index, t))
            continue
        busy[machine].occupy(start, end)
        if machine in setup_machines:
            last_on[machine] = (end, job.name)
        placed[op.key] = (machine, start)
        ready[job.name] = end
        advance(index)
    return placed, maint


def _keep_previous(problem: Problem, busy: dict[str, Calendar], placed: Placements) -> None:
    """Reserve, per job, the longest prefix of its previous placements that still fits."""
    if problem.setups:
        return  # a kept placement could break a changeover; the heap places those
    for job in problem.jobs:
        ready = job.release
        for op in problem.job_operations(job.name):
            if op.key in placed:
                machine, start = placed[op.key]
                ready = max(ready, start + op.options[machine])
                continue
            planned = problem.planned(op.key)
            if planned is None or planned.start < ready:
                break
            duration = op.options[planned.machine]
            if busy[planned.machine].fit(planned.start, duration) != planned.start:
                break
            busy[planned.machine].occupy(planned.start, planned.start + duration)
            placed[op.key] = (planned.machine, planned.start)
            ready = planned.start + duration


def _priority(
    rule: str, due: int | None, release: int, remaining: int, op: Operation, problem: Problem
) -> float:
    if rule == "edd":
        return float(due if due is not None else problem.horizon)
    if rule == "mwkr":
        return float(-remaining)
    return float(min(op.options.values()))


def _place_maintenance(
    problem: Problem, busy: dict[str, Calendar], early: bool = False
) -> dict[str, int]:
    """Just in time: as late as the deadline allows, earlier if the crew or machine is busy
    (or, `early`, as soon as the release, the crew and the machine allow)."""
    crew: list[tuple[int, int, int]] = []
    starts: dict[str, int] = {}
    tasks = sorted(problem.maintenance, key=lambda t: (t.deadline is None, t.deadline or 0))
    for task in tasks:
        latest = (
            task.release
            if task.deadline is None or early
            else max(task.release, task.deadline - task.duration)
        )
        calendar = busy[task.machine]
        spans = list(zip(calendar.starts, calendar.ends, strict=True))
        spans += [(s, e) for s, e, _ in crew]
        points = {latest, *(e for _, e in spans), *(s - task.duration for s, _ in spans)}
        order = sorted(points, key=lambda t: (t > latest, -t if t <= latest else t))
        start = latest
        for candidate in order:
            if candidate < task.release:
                continue
            if (
                _crew_ok(crew, candidate, candidate + task.duration, task.crew, problem.crew_size)
                and calendar.fit(candidate, task.duration) == candidate
            ):
                start = candidate
                break
        calendar.occupy(start, start + task.duration)
        crew.append((start, start + task.duration, task.crew))
        starts[task.name] = start
    return starts


def _crew_ok(crew: list[tuple[int, int, int]], start: int, end: int, need: int, size: int) -> bool:
    points = [start] + [s for s, _, _ in crew if start <= s < end]
    return all(sum(c for s, e, c in crew if s <= p < e) + need <= size for p in points)
