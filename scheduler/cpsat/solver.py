"""`solve()`: a problem in, a `Result` out. Infeasible or timed-out runs are statuses.

Always a plan when the hard rules allow one, within a budget per phase:

1. settle: disruptions release the frozen work they contradict, work that cannot be placed
   (an offline machine, past the horizon) is left out and reported (`scheduler.settle`);
2. dispatch: the O(n log n) dispatcher's best plan within a small budget, checked against
   every hard rule; it is the warm start and the fallback (`feasible (dispatch)`);
3. model: linear in the problem (index maps, one pass per family);
4. solve: the solver gets at least `SOLVER_SHARE` of the limit. Up to `LNS_MIN_OPS` free
   (not frozen) operations it searches the full model from the hint; above, the dispatch plan is
   completed into a full assignment and improved by neighbourhood search on the same model
   (`scheduler.cpsat.lns`).

Runs on `num_workers` (two by default: both cores of the target host). The result carries
the wall and CPU seconds of each phase.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from ortools.sat.python import cp_model

from scheduler.cpsat import lns
from scheduler.cpsat.constraints import Constraints
from scheduler.cpsat.explain import explain_infeasible
from scheduler.cpsat.hints import add_hints, best_dispatch
from scheduler.cpsat.objective import set_objective
from scheduler.cpsat.repair import MAX_LOSS, repair
from scheduler.cpsat.stopping import improve, stopping
from scheduler.cpsat.variables import Variables
from scheduler.disruption import affected_operations, pin_unaffected
from scheduler.evaluate import evaluate, moved_operations
from scheduler.plan import Plan, Result, SolveStatus, Tradeoff
from scheduler.plan_builder import build_plan
from scheduler.problem import Problem
from scheduler.right_shift import right_shift
from scheduler.settle import Settled, settle
from scheduler.stability import changes
from scheduler.validate import hard_violations

# The solver's share of the limit, whatever the Python phases before it took.
SOLVER_SHARE = 0.7
# Above this many operations the full search is replaced by neighbourhood search on one model.
LNS_MIN_OPS = 500

# Stronger no-overlap propagation: on classic job shops it is what proves ft10 optimal in seconds
# on two workers (the default portfolio stalls at a bound near 810). On flexible shops with many
# optional intervals it slows presolve enough to delay the first plan past 2 s, so it is only
# switched on when every operation has a single eligible machine.
JOB_SHOP_PARAMS: dict[str, object] = {"use_strong_propagation_in_disjunctive": True}

_STATUS = {
    cp_model.OPTIMAL: SolveStatus.OPTIMAL,
    cp_model.FEASIBLE: SolveStatus.FEASIBLE,
    cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
    cp_model.MODEL_INVALID: SolveStatus.MODEL_INVALID,
    cp_model.UNKNOWN: SolveStatus.UNKNOWN,
}


class _Phases:
    """Wall and CPU seconds per phase of a solve (CPU includes the solver's threads)."""

    def __init__(self) -> None:
        self.seconds: dict[str, dict[str, float]] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.seconds[name] = {
                "wall_s": round(time.perf_counter() - wall, 4),
                "cpu_s": round(time.process_time() - cpu, 4),
            }


class _FirstSolution(cp_model.CpSolverSolutionCallback):
    """Remembers the wall time of the first plan (the "time to first feasible" figure)."""

    def __init__(self, started: float) -> None:
        super().__init__()
        self.started = started
        self.first: float | None = None

    def on_solution_callback(self) -> None:
        if self.first is None:
            self.first = time.perf_counter() - self.started


SCOPES = ("affected", "pinned", "plant")
# The affected-scope replan (the first plan of scope `affected`) gets this share of the limit,
# at most `PINNED_MAX_S`; the repair search gets the rest.
PINNED_SHARE = 0.2
PINNED_MAX_S = 5.0
# The repair ends when it has not gained for this share of the limit (at least
# `PATIENCE_MIN_S`): a small plant's repair is done in a second, not at the limit.
PATIENCE_SHARE = 0.15
PATIENCE_MIN_S = 2.0


def solve(
    problem: Problem,
    time_limit_s: float = 30.0,
    num_workers: int = 2,
    hint: bool = True,
    hint_budget_s: float | None = None,
    log: bool = False,
    scope: str = "plant",
    stop: threading.Event | None = None,
    max_loss: float | None = MAX_LOSS,
    **params: object,
) -> Result:
    """Solve `problem`; extra keyword arguments are CP-SAT parameters (e.g. random_seed).

    `scope` says what a replan (a problem with a previous plan) may move:
    - `plant`: any work, against the stability term of the objective, from a fresh start;
    - `pinned`: only the work without a valid previous placement (what a disruption
      contradicts, its jobs' later steps, new orders), the rest pinned where it was; its model
      has only that work free, so its plan comes in seconds;
    - `affected`: the `pinned` plan first (within `PINNED_SHARE` of the limit, at most
      `PINNED_MAX_S`), then the rest of the limit repairing it (`scheduler.cpsat.repair`):
      unaffected work moves only where the objective gains more than the stability term
      charges for the move.
    Should the pinned replan find no plan, the plant replan gets the time left. The repair's
    stable plan keeps every unaffected list in order; it gives way to re-dispatching when it
    produces more than `max_loss` worse (None: never), and the result's `tradeoff` carries
    both production figures either way.

    `stop` (a worker's stop signal) ends the search early: the best plan found so far is
    returned, as at the limit. A replan's result counts the previous plan's operations it
    resequenced (another machine or another place in its machine's list) and shifted (same
    list, other time; `scheduler.stability`)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown replan scope {scope!r}; expected one of {SCOPES}")
    if scope == "plant" or not problem.previous:
        result = _solve(problem, time_limit_s, num_workers, hint, hint_budget_s, log, params, stop)
        return _counted(problem, result)
    started = time.perf_counter()
    deadline = started + time_limit_s
    affected = affected_operations(problem)
    first_limit = (
        time_limit_s if scope == "pinned" else min(PINNED_MAX_S, PINNED_SHARE * time_limit_s)
    )
    pinned = _solve(pin_unaffected(problem), first_limit, num_workers, hint,
                    hint_budget_s, log, params, stop)  # fmt: skip
    if pinned.plan is None:
        left = max(SOLVER_SHARE * time_limit_s, deadline - time.perf_counter())
        result = _solve(problem, left, num_workers, hint, hint_budget_s, log, params, stop)
        reason = result.reason
        if result.plan is not None:  # say why more than the affected work moved
            note = f"replanning only the affected work found no plan ({pinned.reason})"
            reason = note if reason is None else f"{reason}; {note}"
        return _counted(
            problem,
            replace(result, runtime=time.perf_counter() - started, reason=reason),
            affected,
        )
    plant = settle(problem).problem
    plan, total = pinned.plan, evaluate(plant, pinned.plan)["total"]
    note = (
        f"replanned the {len(affected)} operation(s) a disruption or a new order affected; "
        "the rest of the previous plan is kept"
    )
    phases = dict(pinned.phases)
    tradeoff: Tradeoff | None = None
    if scope == "affected" and not (stop is not None and stop.is_set()):
        phase = _Phases()
        with phase("right_shift"):
            maint = {m.name: m.start for m in plan.maintenance}
            stable = right_shift(plant, problem.previous, maint)
        with phase("repair"):
            patience = max(PATIENCE_MIN_S, PATIENCE_SHARE * time_limit_s)
            repaired = repair(plant, plan, deadline, num_workers, affected,
                              stable=None if stable is None else stable[0], stop=stop,
                              patience_s=patience, max_loss=max_loss)  # fmt: skip
        tradeoff = None if repaired is None else repaired.tradeoff
        phases.update(phase.seconds)
        # The dispatching replan may win on production alone (`repair.MAX_LOSS`).
        if repaired is not None and (repaired.objective < total or repaired.start == "dispatch"):
            changed = changes(problem.previous, repaired.plan, affected)
            beyond = len(changed.resequenced - affected)
            shifted = len(changed.shifted - affected)
            plan, total = repaired.plan, repaired.objective
            note = (
                f"replanned the {len(affected)} operation(s) a disruption or a new order "
                f"affected, then resequenced {beyond} and shifted {shifted} more where the plan "
                "gained more than the stability term charged for the move"
                + (" (from the dispatching replan)" if repaired.start == "dispatch" else "")
            )
        if tradeoff is not None:
            note = f"{note}; {_tradeoff_note(tradeoff)}"
    status = SolveStatus.FEASIBLE if pinned.status is SolveStatus.OPTIMAL else pinned.status
    result = replace(  # scored as the plant replan is; no bound holds for it
        pinned,
        status=status,
        plan=plan,
        runtime=time.perf_counter() - started,
        moved_operations=moved_operations(problem, plan),
        objective=total / plant.weights.scale,
        bound=None,
        affected_operations=len(affected),
        reason=note if pinned.reason is None else f"{pinned.reason}; {note}",
        phases=phases,
        tradeoff=tradeoff,
    )
    return _counted(problem, result, affected)


def _tradeoff_note(tradeoff: Tradeoff) -> str:
    """The stable plan against re-dispatching, in a planner's words."""
    loss = tradeoff.loss
    cost = "n/a" if loss is None else f"{100 * loss:+.1f} %"
    kept = (
        "keeping every other machine's list"
        if tradeoff.stable_resequenced == 0
        else f"resequencing {tradeoff.stable_resequenced} unaffected operation(s)"
    )
    allowed = "any" if tradeoff.max_loss is None else f"{100 * tradeoff.max_loss:g} %"
    verdict = "kept" if tradeoff.chosen == "stable" else "re-dispatched"
    return (
        f"the stable plan ({kept}) costs {tradeoff.stable:.1f} in production against "
        f"{tradeoff.redispatch:.1f} re-dispatching ({cost}; replan_max_loss allows {allowed}): "
        f"{verdict}"
    )


def _counted(
    problem: Problem, result: Result, affected: set[tuple[str, int]] | None = None
) -> Result:
    """`result` with a replan's counts: affected, resequenced and shifted operations."""
    if not problem.previous:
        return result
    if affected is None:
        affected = affected_operations(problem)
    if result.plan is None:
        return replace(result, affected_operations=len(affected))
    changed = changes(problem.previous, result.plan, affected)
    return replace(
        result,
        affected_operations=len(affected),
        resequenced_operations=len(changed.resequenced),
        shifted_operations=len(changed.shifted),
    )


def _solve(
    problem: Problem,
    time_limit_s: float,
    num_workers: int,
    hint: bool,
    hint_budget_s: float | None,
    log: bool,
    params: dict[str, object],
    stop: threading.Event | None = None,
) -> Result:
    started = time.perf_counter()
    phase = _Phases()
    with phase("settle"):
        settled = settle(problem)
    p = settled.problem
    with phase("dispatch"):
        budget = hint_budget_s if hint_budget_s is not None else min(0.3, time_limit_s / 20)
        ops, maint = best_dispatch(p, min(budget, 0.1 * time_limit_s))
        fallback = build_plan(p, ops, maint)
        issues = hard_violations(p, fallback)
    dispatch_at = time.perf_counter() - started
    with phase("model"):
        model = cp_model.CpModel()
        variables = Variables.build(model, p)
        constraints = Constraints(p, variables)
        constraints.add_constraints()
        set_objective(p, variables)
    deadline = started + time_limit_s
    solve_s = max(SOLVER_SHARE * time_limit_s, deadline - time.perf_counter())
    frozen = p.frozen()  # fixed work costs the search nothing: count the free operations
    free = sum(1 for op in p.operations if op.key not in frozen)
    large = free > LNS_MIN_OPS and hint and not issues
    classic = all(len(op.options) == 1 for op in p.operations)
    settings = {**(JOB_SHOP_PARAMS if classic else {}), **params}
    with phase("solve"):
        if large:
            add_hints(p, variables, ops, maint)
            found = _large(p, variables, solve_s, num_workers, settings, started, stop)
        else:
            if hint:
                add_hints(p, variables, ops, maint)
                if not issues:  # a valid dispatch plan: hint every variable of the model
                    completed = lns.complete(variables.model, solve_s / 4, num_workers)
                    if completed is not None:
                        lns.set_hint(variables.model, completed.values)
            found = _full(p, variables, solve_s, num_workers, settings, log, started, stop)
    status, objective, bound, plan, first = found
    runtime = time.perf_counter() - started
    common = {
        "unplaced": settled.unplaced,
        "released": settled.notes,
        "phases": phase.seconds,
    }
    if plan is not None:
        return Result(
            status, objective, bound, runtime, plan,
            first_solution_seconds=dispatch_at if not issues else first,
            reason=_left_out(settled), moved_operations=moved_operations(problem, plan),
            **common,  # type: ignore[arg-type]
        )  # fmt: skip
    if not issues:
        cost = evaluate(p, fallback)["total"] / p.weights.scale
        reason = (
            f"the solver found no better plan within {solve_s:.1f} s ({status.value}): this "
            "is the dispatching rule's plan, checked against every hard rule"
        )
        left = _left_out(settled)
        return Result(
            SolveStatus.DISPATCH, cost, None, runtime, fallback,
            first_solution_seconds=dispatch_at,
            reason=reason + (f"; {left}" if left else ""),
            moved_operations=moved_operations(problem, fallback), **common,  # type: ignore[arg-type]
        )  # fmt: skip
    if status is SolveStatus.INFEASIBLE:
        explanations = explain_infeasible(p, min(5.0, time_limit_s))
        return Result(
            status, None, None, time.perf_counter() - started,
            explanations=tuple(explanations), reason=explanations[0], **common,  # type: ignore[arg-type]
        )  # fmt: skip
    reason = (
        f"no plan within {time_limit_s:g} s ({status.value}); the dispatching rule's plan "
        f"breaks a hard rule: {issues[0]}"
    )
    return Result(status, None, None, runtime, reason=reason, **common)  # type: ignore[arg-type]


_Found = tuple[SolveStatus, float | None, float | None, Plan | None, float | None]


def _full(
    problem: Problem,
    variables: Variables,
    solve_s: float,
    num_workers: int,
    settings: dict[str, object],
    log: bool,
    started: float,
    stop: threading.Event | None = None,
) -> _Found:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = solve_s
    solver.parameters.num_workers = num_workers
    solver.parameters.log_search_progress = log
    for name, value in settings.items():
        setattr(solver.parameters, name, value)
    callback = _FirstSolution(started)
    with stopping(solver, stop):
        status = _STATUS.get(solver.solve(variables.model, callback), SolveStatus.UNKNOWN)
    if not status.has_plan:
        return status, None, None, None, None
    scale = problem.weights.scale
    plan = _extract(problem, variables, list(solver.response_proto.solution))
    return (
        status,
        solver.objective_value / scale,
        solver.best_objective_bound / scale,
        plan,
        callback.first,
    )


def _large(
    problem: Problem,
    variables: Variables,
    solve_s: float,
    num_workers: int,
    settings: dict[str, object],
    started: float,
    stop: threading.Event | None = None,
) -> _Found:
    """Complete the dispatch hint into a full assignment, then neighbourhood search (`stop`
    ends it natively, the step in flight included)."""
    deadline = time.perf_counter() + solve_s
    incumbent = lns.complete(variables.model, solve_s / 2, num_workers)
    if incumbent is None:
        return SolveStatus.UNKNOWN, None, None, None, None
    first = time.perf_counter() - started
    best, _steps = improve(problem, variables, incumbent, deadline, num_workers, stop=stop)
    scale = problem.weights.scale
    plan = _extract(problem, variables, best.values)
    return SolveStatus.FEASIBLE, best.objective / scale, None, plan, first


def _left_out(settled: Settled) -> str | None:
    if not settled.unplaced:
        return None
    first = settled.unplaced[0].reason
    more = len(settled.unplaced) - 1
    return f"{len(settled.unplaced)} item(s) left out of the plan: {first}" + (
        f" (and {more} more)" if more else ""
    )


def _extract(problem: Problem, variables: Variables, values: Sequence[int]) -> Plan:
    return build_plan(problem, *variables.placements(values))
