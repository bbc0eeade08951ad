"""Right-shift repair: the previous plan after a disruption, with each machine's list kept (pure).

The classic repair of a shop-floor plan. Work whose own placement the disruption does not
contradict keeps its machine and its place in its machine's list; the displaced work (on a
machine gone offline, over a new closed span) and new orders are put back one operation at
a time, in the order they were due, into the list of the eligible machine where it finishes
earliest, at about the time it is ready; then every list is timed again from the start, each
operation as early as its job, its machine's previous entry, its release and the machine's
calendar allow, but never earlier than it was planned. Later work therefore moves right only
as far as the inserted work pushes it, and only in time: no list changes order except where
the displaced work went in. Maintenance stays where the affected-only replan put it (it is
not part of any previous plan), as a block the lists flow around.

It is the stable start of the repair search (`scheduler.cpsat.repair`): the affected-only
replan keeps every other placement to the minute and so queues displaced work wherever a gap
is left, often at the end of the plan; this start lets that work go back near its old time
at the price of small shifts.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scheduler.dispatch import Calendar
from scheduler.plan_builder import Placements
from scheduler.problem import Operation, PlannedOperation, Problem

OpKey = tuple[str, int]
# An insertion's cost: its own finish and its job's weighted lateness, and for the entry it
# pushes, this much per minute pushed plus the lateness the push adds to that entry's job.
PUSH_WEIGHT = 0.5
# With at most `LOOKAHEAD_MAX_OPS` operations to put back, each goes where, of its
# `LOOKAHEAD` best places by that estimate, the whole plan timed again is cheapest.
LOOKAHEAD = 4
LOOKAHEAD_MAX_OPS = 150


@dataclass
class _Entry:
    """One operation in a machine's list, with the earliest start it may take."""

    key: OpKey
    anchor: int  # not earlier than this: its previous start, or its release when new
    fixed: bool = False  # frozen: exactly at `anchor`


def right_shift(
    problem: Problem, previous: Sequence[PlannedOperation], maintenance: Mapping[str, int]
) -> tuple[Placements, dict[str, int]] | None:
    """Placements for the settled `problem` (offline machines out of the options): `previous`
    is the plan before the disruption, `maintenance` the starts of the maintenance tasks.
    None when the lists cannot be timed (a cycle between lists and jobs that re-inserting
    could not break).

    Only the work whose own placement the disruption contradicts is taken out of its list
    (`displaced`) and new work put in; the later steps of its job, and the work in the way
    of maintenance or of a new order, stay in their lists and shift right as needed."""
    frozen = problem.frozen()
    before = {p.key: p for p in previous}
    out = displaced(problem, previous)
    lists: dict[str, list[_Entry]] = {m.name: [] for m in problem.machines}
    free: list[Operation] = []
    for op in problem.operations:
        planned = before.get(op.key)
        if op.key in frozen:
            p = frozen[op.key]
            lists[p.machine].append(_Entry(op.key, p.start, fixed=True))
        elif planned is not None and op.key not in out:
            lists[planned.machine].append(_Entry(op.key, planned.start))
        else:
            free.append(op)
    for entries in lists.values():
        entries.sort(key=lambda e: (e.anchor, e.key))
    timer = _Timer(problem, maintenance)
    timed = timer.time(lists)
    if timed is None:
        return None
    due: dict[OpKey, int] = {}
    for op in sorted(free, key=lambda o: (o.job, o.seq)):  # a job's steps in order
        planned = before.get(op.key)
        want = planned.start if planned is not None else problem.job(op.job).release
        due[op.key] = max(want, due.get((op.job, op.seq - 1), want))
    look = LOOKAHEAD if len(free) <= LOOKAHEAD_MAX_OPS else 1
    for op in sorted(free, key=lambda o: (due[o.key], o.seq, o.job)):
        chosen: tuple[float, dict[OpKey, tuple[str, int, int]], str, int] | None = None
        for machine, index in _where(problem, op, lists, timed, timer, before)[:look]:
            entry = _Entry(op.key, problem.job(op.job).release)
            trial = {m: list(entries) for m, entries in lists.items()}
            trial[machine].insert(index, entry)
            found = timer.time(trial)
            if found is None:
                continue
            cost = timer.cost(found) if look > 1 else 0.0
            if chosen is None or cost < chosen[0]:
                chosen = (cost, found, machine, index)
        if chosen is None:
            return None
        _, timed, machine, index = chosen
        lists[machine].insert(index, _Entry(op.key, problem.job(op.job).release))
    placements = {key: (machine, start) for key, (machine, start, _) in timed.items()}
    return placements, dict(maintenance)


def displaced(problem: Problem, previous: Sequence[PlannedOperation]) -> set[OpKey]:
    """Previously planned, unfrozen operations of the settled `problem` whose own placement no
    longer holds: their machine is no longer an option (offline), or their span now overlaps
    a closed span of the machine (a breakdown)."""
    frozen = problem.frozen()
    found: set[OpKey] = set()
    known = {op.key for op in problem.operations}
    for p in previous:
        if p.key not in known or p.key in frozen:
            continue
        op = problem.operation(p.key)
        if p.machine not in op.options:
            found.add(p.key)
            continue
        closed = problem.machine(p.machine).unavailable
        if op.preemptible_across_closures:
            if any(s <= p.start < e for s, e in closed):
                found.add(p.key)
            continue
        end = p.start + op.options[p.machine]
        if any(s < end and p.start < e for s, e in closed):
            found.add(p.key)
    return found


def _where(
    problem: Problem,
    op: Operation,
    lists: dict[str, list[_Entry]],
    timed: dict[OpKey, tuple[str, int, int]],
    timer: _Timer,
    before: Mapping[OpKey, PlannedOperation],
) -> list[tuple[str, int]]:
    """Machine and list positions for `op`, best first: where it finishes earliest from when
    it is ready, counting half of how far it pushes the entry behind it, at its turn in the
    list or in the first gap after that takes it without a push; ties keep its old machine."""
    previous_step = timed.get((op.job, op.seq - 1))
    ready = max(problem.job(op.job).release, previous_step[2] if previous_step else 0)
    old = before.get(op.key)
    rest = sum(min(o.options.values()) for o in problem.job_operations(op.job)[op.seq + 1 :])
    options: list[tuple[float, int, str, int]] = []
    for machine in op.options:
        entries = lists[machine]
        starts = [timed[e.key][1] for e in entries]
        index = _position(starts, entries, ready)
        stay = 0 if old is not None and old.machine == machine else 1
        for j in range(index, len(entries) + 1):  # there, pushing; or the first gap after
            after = timed[entries[j - 1].key][2] if j else 0
            _, end = timer.fit(op, machine, max(ready, after))
            push = max(0, end - starts[j]) if j < len(entries) else 0
            cost = end + timer.late_cost(op.job, end + rest)
            if push:
                cost += PUSH_WEIGHT * push + timer.push_cost(entries[j].key, push, timed)
            options.append((cost, stay, machine, j))
            if push == 0:
                break
    options.sort()
    return [(machine, j) for _, _, machine, j in options]


def _position(starts: list[int], entries: list[_Entry], at: int) -> int:
    """The first list position whose entry starts at or after `at`, but never before a frozen
    entry (frozen work keeps its place at the head of the list)."""
    index = next((i for i, s in enumerate(starts) if s >= at), len(starts))
    while index < len(entries) and entries[index].fixed:
        index += 1
    return index


class _Timer:
    """Times machine lists: each entry as early as its job, its list and its calendar allow
    (closures and the fixed maintenance blocks), never before its anchor."""

    def __init__(self, problem: Problem, maintenance: Mapping[str, int]) -> None:
        self.problem = problem
        self.blocked: dict[str, Calendar] = {}
        self.closed: dict[str, Calendar] = {}
        self.setups = {(s.machine, s.from_job, s.to_job): s.duration for s in problem.setups}
        durations = {t.name: t.duration for t in problem.maintenance}
        machines = {t.name: t.machine for t in problem.maintenance}
        for m in problem.machines:
            self.closed[m.name] = Calendar(m.unavailable)
            self.blocked[m.name] = Calendar(m.unavailable)
        self.maintenance: dict[str, list[tuple[int, int]]] = {}
        for name, start in maintenance.items():
            if name in durations:
                span = (start, start + durations[name])
                self.blocked[machines[name]].occupy(*span)
                self.maintenance.setdefault(machines[name], []).append(span)

    def cost(self, timed: Mapping[OpKey, tuple[str, int, int]]) -> float:
        """The plan's weighted lateness and makespan as timed so far (a job's untimed steps
        at their shortest), the terms an insertion's push moves."""
        w = self.problem.weights
        done: dict[str, int] = {}
        for (job, _), (_, _, end) in timed.items():
            done[job] = max(done.get(job, end), end)
        total = w.makespan * max(done.values(), default=0)
        for job, end in done.items():
            j = self.problem.job(job)
            if j.due is not None and j.weight:
                ops = self.problem.job_operations(job)
                rest = sum(min(o.options.values()) for o in ops if o.key not in timed)
                total += w.tardiness * j.weight * max(0, end + rest - j.due)
        return total

    def late_cost(self, job: str, completion: int) -> float:
        """Minutes of weighted lateness of `job` finishing at `completion`."""
        j = self.problem.job(job)
        return 0.0 if j.due is None else j.weight * max(0, completion - j.due)

    def push_cost(
        self, key: OpKey, push: int, timed: Mapping[OpKey, tuple[str, int, int]]
    ) -> float:
        """The weighted lateness that pushing `key` by `push` adds to its own job, beyond the
        job's slack (the cascade further on is left to the search)."""
        job = self.problem.job(key[0])
        if job.due is None:
            return 0.0
        last = self.problem.job_operations(key[0])[-1].key
        completion = timed[last][2] if last in timed else timed[key][2]
        return self.late_cost(key[0], completion + push) - self.late_cost(key[0], completion)

    def fit(self, op: Operation, machine: str, ready: int) -> tuple[int, int]:
        """Start and end of `op` on `machine` at or after `ready`."""
        duration = op.options[machine]
        if not op.preemptible_across_closures:
            start = self.blocked[machine].fit(ready, duration)
            return start, start + duration
        start = ready
        for _ in range(1000):  # pauses over closures, never over maintenance
            start = self.closed[machine].fit(start, 1)
            end = self.problem.finish(op, machine, start)
            clash = [e for s, e in self.maintenance.get(machine, ()) if s < end and start < e]
            if not clash:
                return start, end
            start = max(clash)
        return start, self.problem.finish(op, machine, start)

    def time(self, lists: dict[str, list[_Entry]]) -> dict[OpKey, tuple[str, int, int]] | None:
        """(machine, start, end) of every listed operation, or None on a cycle that breaking
        by moving the ready entry ahead in its list cannot resolve."""
        problem = self.problem
        machine_of = {e.key: m for m, entries in lists.items() for e in entries}
        position = {m: 0 for m in lists}
        timed: dict[OpKey, tuple[str, int, int]] = {}
        last: dict[str, tuple[int, str] | None] = dict.fromkeys(lists)
        heap: list[tuple[int, str]] = [(0, m) for m, entries in lists.items() if entries]
        heapq.heapify(heap)
        waiting: set[str] = set()
        total = len(machine_of)
        while len(timed) < total:
            progressed = False
            while heap:
                _, machine = heapq.heappop(heap)
                entries = lists[machine]
                i = position[machine]
                if i >= len(entries):
                    continue
                entry = entries[i]
                job, seq = entry.key
                before = (job, seq - 1)
                if seq > 0 and before in machine_of and before not in timed:
                    waiting.add(machine)
                    continue
                op = problem.operation(entry.key)
                ready = max(entry.anchor, problem.job(job).release)
                if before in timed:
                    ready = max(ready, timed[before][2])
                prev = last[machine]
                if prev is not None:
                    ready = max(ready, prev[0] + self.setups.get((machine, prev[1], job), 0))
                if entry.fixed:
                    start, end = entry.anchor, problem.finish(op, machine, entry.anchor)
                else:
                    start, end = self.fit(op, machine, ready)
                timed[entry.key] = (machine, start, end)
                last[machine] = (end, job)
                position[machine] = i + 1
                progressed = True
                heapq.heappush(heap, (end, machine))
                for other in [m for m in waiting if lists[m][position[m]].key == (job, seq + 1)]:
                    waiting.discard(other)
                    heapq.heappush(heap, (end, other))
            if len(timed) >= total:
                break
            if not progressed or waiting:
                if not self._unblock(lists, position, timed, machine_of):
                    return None
                heap = [(0, m) for m in lists if position[m] < len(lists[m])]
                heapq.heapify(heap)
                waiting = set()
        return timed

    @staticmethod
    def _unblock(
        lists: dict[str, list[_Entry]],
        position: dict[str, int],
        timed: dict[OpKey, tuple[str, int, int]],
        machine_of: dict[OpKey, str],
    ) -> bool:
        """Every list waits for a job step not at the head of its own list: move the untimed
        step whose job is ready with the earliest anchor to the head of its list."""
        ready: list[tuple[int, str, int]] = []
        for machine, entries in lists.items():
            for i in range(position[machine], len(entries)):
                entry = entries[i]
                job, seq = entry.key
                before = (job, seq - 1)
                if entry.fixed:
                    continue
                if seq == 0 or before not in machine_of or before in timed:
                    ready.append((entry.anchor, machine, i))
        if not ready:
            return False
        _, machine, i = min(ready)
        entries = lists[machine]
        entries.insert(position[machine], entries.pop(i))
        return True
