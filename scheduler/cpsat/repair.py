"""Repair after a disruption: the best plan that keeps every unaffected machine list, or,
when that costs the plant too much, a search from re-dispatching; the choice is explicit.

Two stable starts compete under the whole objective: the affected-scope replan
(`scheduler.disruption.pin_unaffected`: every other placement kept to the minute, so the
displaced work queues wherever a gap is left) and the right-shift repair
(`scheduler.right_shift`: every machine's list kept in order, the displaced work put back
near its old time, later work shifted right as far as needed). On a large plant the cheaper
one is improved by the list-kept search (`scheduler.cpsat.list_lock`: unaffected work keeps
its machine and its place in its list as hard rules, only the affected work is placed anew),
so the stable plan resequences nothing beyond the affected work. It is then weighed against
re-dispatching (from scratch: it reorders nearly everything): the dispatching replan takes
over when it is cheaper even with its plan changes priced (`ObjectiveWeights.moved`,
`resequenced`), or when the stable plan produces more than `max_loss` worse than
re-dispatching by EDD (a planner's setting, `[scheduler] replan_max_loss`; None, the default:
never, and the lists are then hard rules whatever the start, so only affected work
resequences). The result's `Tradeoff` carries both production figures either way, so what
stability costs is never hidden. A small plant's repair searches its whole model from the
stable start, moves priced by the stability term. Apart from a stable plan given up past
`max_loss`, the repair never returns a plan worse than its start under the objective. It ends
at the deadline, on a stop signal, or (the search from re-dispatching) when it stops gaining.
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
from scheduler.cpsat.list_lock import kept_lists_search
from scheduler.cpsat.objective import set_objective
from scheduler.cpsat.variables import OpKey, Variables
from scheduler.dispatch import dispatch
from scheduler.evaluate import evaluate
from scheduler.plan import Plan, Tradeoff
from scheduler.plan_builder import Placements, build_plan
from scheduler.problem import Problem
from scheduler.stability import changes
from scheduler.validate import hard_violations

DISPATCH_MAX_S = 0.5  # the dispatching replan's budget, at most a tenth of the time left
# Up to this many free operations the whole model is searched from the start (it proves a
# small plant's repair optimal and ends); above, neighbourhood search around the affected work.
FULL_MAX_OPS = 150
# The default `max_loss`: never re-dispatch (`[scheduler] replan_max_loss` unset). A replan
# moves only the affected work and its jobs' later steps; every other machine list is kept, at
# whatever production cost, and the `Tradeoff` shows that cost beside re-dispatching's. With
# M0 offline on the 200x5x20 plant (seeds 1-3, 30 s) the stable plan came out 30 % cheaper to
# 19 % dearer in production than re-dispatching by EDD; with 0.10, re-dispatching took over
# and resequenced 430-510 unaffected operations. Giving up the shop floor's lists is a
# planner's choice (a share here), not one a replan makes on its own.
MAX_LOSS: float | None = None
# A stable start this much worse in production than re-dispatching by EDD (a machine offline:
# 3.7-30x on the 200x5x20 plant, every list pushed by the displaced work) is searched with the
# lists kept as hard rules (`scheduler.cpsat.list_lock`): searched at the resequencing price
# from there, the catch-up reordered 42-62 unaffected operations. Closer starts (a breakdown,
# an overdue or a rush order: 0.1-6 % on seed 1) are searched at the price, which there
# resequenced nothing and gained more.
FAR = 0.25
# The list-kept search gets this share of the repair before the stable plan is weighed
# against re-dispatching: it is still gaining at half (seed 1: +88 % at the half, -10.6 %
# given all the time), and the re-dispatch it would give way to starts good.
KEPT_SHARE = 0.8
KEPT_MARGIN_S = 1.5  # the list-kept search ends this early: completing its plan takes time


@dataclass(frozen=True)
class Repaired:
    """The repaired plan, its scaled objective, the search's steps, and the start it took
    (`kept-lists`, `right-shift` or `pinned`, or `dispatch` when a dispatching rule's replan
    was cheaper or the stable plan too costly), and, on the large plants' path, the stable plan
    against re-dispatching in production (`Tradeoff`)."""

    plan: Plan
    objective: int
    steps: int
    start: str
    tradeoff: Tradeoff | None = None


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
    max_loss: float | None = MAX_LOSS,
) -> Repaired | None:
    """Improve `start` (a plan valid for the settled `problem`) until `deadline`
    (time.perf_counter()); None when no time is left or the start cannot be completed.

    `stable` (the right-shift repair, `scheduler.right_shift`) is the other stable start: the
    cheaper of the two under the whole objective is the start. On a large plant the list-kept
    search improves it for `first_share` of the time (`focus`, the affected work, is what it
    may place anew). Then the dispatching replan cheapest under the whole objective, its plan
    changes priced, takes the rest of the time if it is cheaper still; otherwise the
    re-dispatch from scratch (only frozen work kept) takes it when the stable plan's production
    objective (the stability term left out) is more than `max_loss` worse than the baseline
    rule's re-dispatch (EDD, the plan a planner compares with): the search then starts from
    re-dispatched production and wins back what stability it can, ending when `stop` is set or
    it has not gained for `patience_s`. Otherwise the stable search goes on to the deadline.
    A stable start close to re-dispatching (within `FAR`) is searched at the resequencing price
    instead of with hard lists, unless `max_loss` is None (never re-dispatch: all the time goes
    to the list-kept search)."""
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
    scratch = replace(problem, previous=tuple(problem.frozen().values()))
    theirs = evaluate(problem, build_plan(problem, *dispatch(scratch, "edd")))
    start_plan = build_plan(problem, *variables.placements(incumbent.values))
    far = _production(evaluate(problem, start_plan)) > (1 + FAR) * _production(theirs)
    far = far or max_loss is None  # stability at any price: the lists as hard rules
    share = max(first_share, KEPT_SHARE) if far else first_share
    halfway = time.perf_counter() + (deadline - time.perf_counter()) * share
    if max_loss is None:  # never re-dispatched: the stable search takes all the time
        halfway = max(halfway, deadline - KEPT_MARGIN_S)
    stalled, best = False, incumbent
    steady = variables.placements(incumbent.values)
    if far:  # lists kept as hard rules: a price alone lets the catch-up reorder them
        steady, kind = _kept(problem, focus, steady, kind, halfway, num_workers, stop)
    else:
        best, _, stalled = stopping.improve_until(
            problem, variables, incumbent, halfway, num_workers, seed, focus, stop, patience_s
        )
        steady = variables.placements(best.values)
    budget = min(DISPATCH_MAX_S, 0.1 * (deadline - time.perf_counter()))
    tradeoff: Tradeoff | None = None
    more = 0
    if stop is None or not stop.is_set():
        stable_plan = build_plan(problem, *steady)
        ours = evaluate(problem, stable_plan)
        # The dispatching replan cheapest under the whole objective, and the plan of
        # re-dispatching from scratch (only the frozen work kept), cheapest in production.
        other: Placements | None = None
        too_far = False
        if max_loss is not None:
            cheapest = best_dispatch(problem, budget / 2)
            redispatched = best_dispatch(scratch, budget / 2)
            plan = build_plan(problem, *cheapest)
            if evaluate(problem, plan)["total"] < ours["total"]:
                other = cheapest[0] if not hard_violations(problem, plan) else None
            if other is None:  # far worse than the baseline rule's re-dispatch (EDD)?
                too_far = _production(ours) > (1 + max_loss) * _production(theirs)
                plan = build_plan(problem, *redispatched)
                if too_far and not hard_violations(problem, plan):
                    other, cheapest = redispatched[0], redispatched
        if other is not None:
            model.clear_hints()
            add_hints(problem, variables, other, cheapest[1])
            left = max(0.5, (deadline - time.perf_counter()) / 4)
            fresh = lns.complete(model, left, num_workers)
            if fresh is not None and (too_far or fresh.objective < ours["total"]):
                best, kind = fresh, "dispatch"
            elif too_far:  # the rule gives the stable plan up: the re-dispatch as it is
                plan = build_plan(problem, *cheapest)
                tradeoff = _tradeoff(
                    problem, ours, theirs, "redispatch", max_loss, stable_plan, focus
                )
                return Repaired(plan, evaluate(problem, plan)["total"], 0, "dispatch", tradeoff)
        chosen = "redispatch" if kind == "dispatch" else "stable"
        tradeoff = _tradeoff(problem, ours, theirs, chosen, max_loss, stable_plan, focus)
        if kind == "dispatch" or not (far or stalled):  # from re-dispatched work, win back
            lns.set_hint(model, best.values)  # what stability it can; or more of the same
            best, more = stopping.improve(
                problem, variables, best, deadline, num_workers, seed, focus, stop, patience_s
            )
        elif far:  # the stable plan: more of the list-kept search
            end = deadline - KEPT_MARGIN_S
            steady, kind = _kept(problem, focus, steady, kind, end, num_workers, stop)
    if far and kind != "dispatch":
        plan = build_plan(problem, *steady)
    else:
        plan = build_plan(problem, *variables.placements(best.values))
    return Repaired(plan, evaluate(problem, plan)["total"], more, kind, tradeoff)


def _kept(
    problem: Problem,
    focus: Collection[OpKey],
    start: tuple[Placements, dict[str, int]],
    kind: str,
    deadline: float,
    num_workers: int,
    stop: threading.Event | None,
) -> tuple[tuple[Placements, dict[str, int]], str]:
    """`start` (placements keeping every unaffected list) or, when cheaper under the whole
    objective (scored by `evaluate`: completing the whole model from placements leaves its
    plan-change literals to a search that a loaded second cannot finish), the list-kept
    search's plan from it (`scheduler.cpsat.list_lock`)."""
    kept = kept_lists_search(problem, focus, *start, deadline, num_workers, stop)
    if kept is None:
        return start, kind
    plan = build_plan(problem, *kept)
    before = evaluate(problem, build_plan(problem, *start))["total"]
    if evaluate(problem, plan)["total"] >= before or hard_violations(problem, plan):
        return start, kind
    return kept, "kept-lists"


def _tradeoff(
    problem: Problem,
    ours: dict[str, int],
    theirs: dict[str, int],
    chosen: str,
    max_loss: float | None,
    stable: Plan,
    focus: Collection[OpKey],
) -> Tradeoff:
    """The stable plan (`ours`, `stable`) against re-dispatching (`theirs`) in production."""
    scale = problem.weights.scale
    moved = changes(problem.previous, stable, focus).resequenced - set(focus)
    return Tradeoff(
        _production(ours) / scale, _production(theirs) / scale, chosen, max_loss, len(moved)
    )


def _production(costs: dict[str, int]) -> int:
    """The objective without the stability term: what the plant produces, late or on time."""
    return costs["total"] - costs["change"]
