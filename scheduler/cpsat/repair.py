"""Repair after a disruption: from a stable start, a search in which any unfrozen work may move,
at the price of the stability term.

Two stable starts compete under the whole objective: the affected-scope replan
(`scheduler.disruption.pin_unaffected`: every other placement kept to the minute, so the
displaced work queues wherever a gap is left) and the right-shift repair
(`scheduler.right_shift`: every machine's list kept in order, the displaced work put back
near its old time, later work shifted right as far as needed). The objective prices a move in
time (`ObjectiveWeights.moved`, urgency-weighted, plus `change` per minute) far below a
resequence (`resequenced`: another machine, or another place in the machine's list), so the
search (`scheduler.cpsat.lns` around the affected work; the whole model on a small plant)
shifts work rather than reorders it, and reorders unaffected work only where the plan gains
more than that costs. The dispatching replan (from scratch: it reorders nearly everything)
takes over when it is cheaper even so, or when the stable plan produces more than
`MAX_LOSS` worse than it. Apart from that last case it never returns a plan worse than its
start under the objective.
The search ends at the deadline, on a stop signal, or when it stops gaining.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, replace

from ortools.sat.python import cp_model

from scheduler.cpsat import lns, stopping
from scheduler.cpsat.constraints import Constraints
from scheduler.cpsat.hints import add_hints, best_dispatch
from scheduler.cpsat.objective import set_objective
from scheduler.cpsat.variables import OpKey, Variables
from scheduler.dispatch import dispatch
from scheduler.evaluate import evaluate
from scheduler.plan import Plan
from scheduler.plan_builder import Placements, build_plan
from scheduler.problem import Problem
from scheduler.validate import hard_violations

DISPATCH_MAX_S = 0.5  # the dispatching replan's budget, at most a tenth of the time left
# Up to this many free operations the whole model is searched from the start (it proves a
# small plant's repair optimal and ends); above, neighbourhood search around the affected work.
FULL_MAX_OPS = 150
# A stable plan whose production objective is this much worse than re-dispatching by the
# baseline rule (EDD) gives way to a search from the best re-dispatch.
MAX_LOSS = 0.10


@dataclass(frozen=True)
class Repaired:
    """The repaired plan, its scaled objective, the search's steps, and the start it took
    (`right-shift` or `pinned`, or `dispatch` when a dispatching rule's replan was cheaper)."""

    plan: Plan
    objective: int
    steps: int
    start: str


def repair(
    problem: Problem,
    start: Plan,
    deadline: float,
    num_workers: int,
    focus: Collection[OpKey] = (),
    seed: int = 0,
    first_share: float = 0.5,
    stable: Placements | None = None,
    stop: threading.Event | None = None,
    patience_s: float | None = None,
    max_loss: float = MAX_LOSS,
) -> Repaired | None:
    """Improve `start` (a plan valid for the settled `problem`) until `deadline`
    (time.perf_counter()); None when no time is left or the start cannot be completed.

    `stable` (the right-shift repair, `scheduler.right_shift`) is the other stable start: the
    cheaper of the two under the whole objective is searched from. Half the time
    (`first_share`) goes to the search from it. Then, if the best dispatching replan (from
    scratch: it moves and reorders nearly everything) is still cheaper under the whole
    objective, its resequencing cost included, the rest goes to the search from it; otherwise
    to more of the same; and the rest goes to the search from the best re-dispatch from scratch
    (only the frozen work kept) when the stable plan's production objective (the stability
    term left out) is more than `max_loss` worse than the baseline rule's re-dispatch (EDD, the
    plan a planner compares with): a planner does not accept a stable plan far worse than
    re-dispatching, so the search then starts from re-dispatched production and wins back what
    stability it can. The search
    ends early when `stop` is set, or when it has not gained
    for `patience_s`."""
    model = cp_model.CpModel()
    variables = Variables.build(model, problem)
    Constraints(problem, variables).add_constraints()
    set_objective(problem, variables)
    ops = {(o.job, o.seq): (o.machine, o.start) for o in start.operations}
    maint = {m.name: m.start for m in start.maintenance}
    kind = "pinned"
    if stable is not None:
        shifted = build_plan(problem, stable, maint)
        cheaper = evaluate(problem, shifted)["total"] < evaluate(problem, start)["total"]
        if cheaper and not hard_violations(problem, shifted):
            ops, kind = stable, "right-shift"
    add_hints(problem, variables, ops, maint)
    left = deadline - time.perf_counter()
    if left < 0.5:
        return None
    incumbent = lns.complete(model, left / 4, num_workers)
    if incumbent is None:
        return None
    if len(problem.operations) - len(problem.frozen()) <= FULL_MAX_OPS:
        best, steps = incumbent, 0
        if stop is None or not stop.is_set():
            best, steps = stopping.solve_from(model, incumbent, deadline, num_workers, stop), 1
        plan = build_plan(problem, *variables.placements(best.values))
        return Repaired(plan, evaluate(problem, plan)["total"], steps, kind)
    halfway = time.perf_counter() + (deadline - time.perf_counter()) * first_share
    best, steps, stalled = stopping.improve_until(
        problem, variables, incumbent, halfway, num_workers, seed, focus, stop, patience_s
    )
    budget = min(DISPATCH_MAX_S, 0.1 * (deadline - time.perf_counter()))
    if stop is None or not stop.is_set():
        ours = evaluate(problem, build_plan(problem, *variables.placements(best.values)))
        # The dispatching replan cheapest under the whole objective, and the plan of
        # re-dispatching from scratch (only the frozen work kept), cheapest in production.
        cheapest = best_dispatch(problem, budget / 2)
        scratch = replace(problem, previous=tuple(problem.frozen().values()))
        redispatched = best_dispatch(scratch, budget / 2)
        other: Placements | None = None
        plan = build_plan(problem, *cheapest)
        if evaluate(problem, plan)["total"] < best.objective:
            other = cheapest[0] if not hard_violations(problem, plan) else None
        too_far = False
        if other is None:  # far worse than the baseline rule's re-dispatch (EDD)?
            theirs = evaluate(problem, build_plan(problem, *dispatch(scratch, "edd")))
            too_far = _production(ours) > (1 + max_loss) * _production(theirs)
            plan = build_plan(problem, *redispatched)
            if too_far and not hard_violations(problem, plan):
                other, cheapest = redispatched[0], redispatched
        if other is not None:
            model.clear_hints()
            add_hints(problem, variables, other, cheapest[1])
            fresh = lns.complete(model, (deadline - time.perf_counter()) / 4, num_workers)
            if fresh is not None and (too_far or fresh.objective < best.objective):
                best, kind, stalled = fresh, "dispatch", False
    lns.set_hint(model, best.values)
    more = 0
    if not stalled:  # no gain for `patience_s` from the stable start: done
        best, more = stopping.improve(
            problem, variables, best, deadline, num_workers, seed + steps, focus, stop,
            patience_s,
        )  # fmt: skip
    plan = build_plan(problem, *variables.placements(best.values))
    return Repaired(plan, evaluate(problem, plan)["total"], steps + more, kind)


def _production(costs: dict[str, int]) -> int:
    """The objective without the stability term: what the plant produces, late or on time."""
    return costs["total"] - costs["change"]
