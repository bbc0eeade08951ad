"""How much a replan changed the previous plan, in a planner's terms (pure).

A planner reads a replan by what it does to each machine's dispatch list. Work that keeps its
machine and its place in that list but starts at another time is *shifted*: the list still
reads the same. Work that changes machine, or loses its place in the list, is *resequenced*:
the list now reads differently. Inserting new or displaced work into a list does not
resequence the work already there; only a change of order among the previously planned work
that stays on the machine does.

Precisely, per machine: take the previous plan's work that the replan keeps on that machine,
in its previous order; the longest run (not necessarily contiguous) whose new starts are still
in that order keeps its place, the rest is resequenced (the fewest operations whose moving
explains the new order). Work now on another machine, or left out of the plan, is resequenced.
Of the rest, work at another start is shifted.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from scheduler.plan import Plan
from scheduler.problem import PlannedOperation

OpKey = tuple[str, int]


@dataclass(frozen=True)
class Changes:
    """The previously planned operations a replan resequenced (other machine, other place in
    the machine's list, or left out) and those it only shifted in time."""

    resequenced: frozenset[OpKey]
    shifted: frozenset[OpKey]

    @property
    def moved(self) -> frozenset[OpKey]:
        return self.resequenced | self.shifted


def changes(
    previous: Iterable[PlannedOperation], plan: Plan, affected: Collection[OpKey] = ()
) -> Changes:
    """Split the previous placements `plan` changes into resequenced and shifted.

    `affected` work (what a disruption took out of its list to put back) does not decide the
    order of the rest: the list is the other work's longest run in order, and an affected
    operation that stays on its machine is resequenced when it now has another number of
    that run's operations before it."""
    placed = {(o.job, o.seq): (o.machine, o.start) for o in plan.operations}
    resequenced: set[OpKey] = set()
    per_machine: dict[str, list[tuple[int, OpKey]]] = {}
    for p in previous:
        now = placed.get(p.key)
        if now is None or now[0] != p.machine:
            resequenced.add(p.key)
        else:
            per_machine.setdefault(p.machine, []).append((p.start, p.key))
    shifted: set[OpKey] = set()
    for kept in per_machine.values():
        kept.sort()
        others = [(start, key) for start, key in kept if key not in affected]
        in_order = _longest_increasing([placed[key][1] for _, key in others])
        run_before = sorted(others[i][0] for i in in_order)
        run_now = sorted(placed[others[i][1]][1] for i in in_order)
        for i, (_, key) in enumerate(others):
            if i not in in_order:
                resequenced.add(key)
        for start, key in kept:
            at = placed[key][1]
            if key in affected and bisect.bisect_left(run_before, start) != bisect.bisect_left(
                run_now, at
            ):
                resequenced.add(key)
            elif key not in resequenced and at != start:
                shifted.add(key)
    return Changes(frozenset(resequenced), frozenset(shifted))


def _longest_increasing(values: list[int]) -> set[int]:
    """Indices of one longest strictly increasing subsequence of `values` (O(n log n))."""
    tails: list[int] = []  # tails[k]: smallest last value of an increasing run of length k+1
    tail_at: list[int] = []  # its index
    parent = [-1] * len(values)
    for i, v in enumerate(values):
        k = bisect.bisect_left(tails, v)
        if k == len(tails):
            tails.append(v)
            tail_at.append(i)
        else:
            tails[k] = v
            tail_at[k] = i
        parent[i] = tail_at[k - 1] if k else -1
    found: set[int] = set()
    i = tail_at[-1] if tail_at else -1
    while i >= 0:
        found.add(i)
        i = parent[i]
    return found
