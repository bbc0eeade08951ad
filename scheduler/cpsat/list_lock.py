"""The best plan that keeps every machine's list: unaffected work keeps its machine and its
order among the machine's other unaffected work as hard rules, only affected work is free.

A replan's stable plan when its start is far off re-dispatching. With a machine offline on
the 200x5x20 plant (seeds 1-5), the right-shift start (`scheduler.right_shift`) made 13-60
orders late (3.7-30x re-dispatching's production cost), 62-82 % of that lateness (seeds 1,
3-5) on orders the outage did not touch: every insertion pushes its list and, through the
jobs, the others. The search at the resequencing price from there caught up by reordering
42-62 unaffected operations (seeds 1-2); here the lists are chained in their previous order
(a precedence, which also propagates), so the search only decides where the affected work
goes and when everything runs. It runs on production alone: in a list-kept plan the
resequencing terms are zero by construction and the per-operation move price only resists
the shifts the inserted work forces anyway; the caller scores the result under the whole
objective.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from dataclasses import replace
from itertools import pairwise

from ortools.sat.python import cp_model

from scheduler.cpsat import lns
from scheduler.cpsat.constraints import Constraints
from scheduler.cpsat.hints import add_hints
from scheduler.cpsat.objective import set_objective
from scheduler.cpsat.stop_signal import stopping
from scheduler.cpsat.variables import OpKey, Variables
from scheduler.plan_builder import Placements
from scheduler.problem import Problem

# Probing in presolve took 5.9 of 7.7 s on the list-kept 200x5x20 model (2 workers) and left
# the search no time; the chains propagate well enough without it.
PARAMS: dict[str, object] = {"cp_model_probing_level": 0}
MIN_S = 1.0  # with less time left, building and completing the model is all there would be


def kept_lists_search(
    problem: Problem,
    affected: Collection[OpKey],
    start: Placements,
    maintenance: dict[str, int],
    deadline: float,
    num_workers: int,
    stop: threading.Event | None = None,
) -> tuple[Placements, dict[str, int]] | None:
    """Placements for the settled `problem` in which every previously planned operation not in
    `affected` (and not frozen) keeps its machine and its place among the other such work of
    that machine, searched from `start` (a plan keeping the lists, e.g. the right-shift repair)
    until `deadline`; None when no time is left or the start does not complete."""
    if deadline - time.perf_counter() < MIN_S:
        return None
    weights = replace(problem.weights, moved=0.0, resequenced=0.0, change=0.0, change_machine=0.0)
    production = replace(problem, weights=weights)
    model = cp_model.CpModel()
    variables = Variables.build(model, production)
    Constraints(production, variables).add_constraints()
    set_objective(production, variables)
    _chain_lists(production, variables, set(affected))
    add_hints(production, variables, start, maintenance)
    incumbent = lns.complete(model, min(1.0, (deadline - time.perf_counter()) / 4), num_workers)
    if incumbent is None:
        return None
    lns.set_hint(model, incumbent.values)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, deadline - time.perf_counter())
    solver.parameters.num_workers = num_workers
    for name, value in PARAMS.items():
        setattr(solver.parameters, name, value)
    with stopping(solver, stop):
        status = solver.solve(model)
    values = incumbent.values
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        values = list(solver.response_proto.solution)
    return variables.placements(values)


def _chain_lists(problem: Problem, variables: Variables, affected: set[OpKey]) -> None:
    """Unaffected, unfrozen previous work: on its previous machine, each after the one before
    it in that machine's previous list."""
    frozen = problem.frozen()
    lists: dict[str, list[tuple[int, OpKey]]] = {}
    for p in problem.previous:
        v = variables.ops.get(p.key)
        if p.key in affected or p.key in frozen or v is None or p.machine not in v.presence:
            continue
        lists.setdefault(p.machine, []).append((p.start, p.key))
    model = variables.model
    for machine, entries in lists.items():
        entries.sort()
        for _, key in entries:
            present = variables.ops[key].presence[machine]
            if present is not True:
                model.add(present == 1)
        for (_, a), (_, b) in pairwise(entries):
            model.add(variables.ops[b].start >= variables.ops[a].end)
