"""The weighted objective: tardiness + maintenance + expected failure + makespan, plus the
heavy maintenance-lateness penalty and the secondary plan-change terms when rescheduling.

Coefficients come from `ObjectiveWeights.coef`, the same arithmetic `scheduler.evaluate` uses
on a finished plan, so a dispatching rule's plan and the solver's are scored alike.
"""

from __future__ import annotations

from typing import Any

from scheduler.cpsat.variables import Variables
from scheduler.evaluate import sequence_pairs
from scheduler.problem import Problem
from scheduler.risk import failure_cost


def set_objective(problem: Problem, variables: Variables) -> None:
    """Minimise the weighted sum; terms with zero weight add no variables."""
    w, model = problem.weights, variables.model
    terms: list[Any] = []
    if w.makespan:
        assert variables.makespan is not None
        terms.append(w.coef(w.makespan) * variables.makespan)
    if w.tardiness:
        terms += _tardiness(problem, variables)
    terms.append(sum(w.coef(w.maintenance, t.cost) for t in problem.maintenance))
    for task in problem.maintenance:
        late = variables.maint[task.name].late
        if late is not None:
            terms.append(w.coef(w.maintenance_late) * late)
    if w.deadline_late:
        for late in variables.deadline_late.values():
            terms.append(w.coef(w.deadline_late) * late)
    if w.expected_failure:
        terms += _expected_failure(problem, variables)
    terms += _changes(problem, variables)
    model.minimize(sum(terms))


def _tardiness(problem: Problem, variables: Variables) -> list[Any]:
    w, terms = problem.weights, list[Any]()
    for job in problem.jobs:
        ops = problem.job_operations(job.name)
        if job.due is None or not ops or not job.weight:
            continue
        # An overdue order (due before now) may be late by more than the horizon.
        tardy = variables.model.new_int_var(
            0, variables.upper + max(0, -job.due), f"tardy_{job.name}"
        )
        variables.model.add(tardy >= variables.ops[ops[-1].key].end - job.due)
        terms.append(w.coef(w.tardiness * job.weight) * tardy)
    return terms


def _expected_failure(problem: Problem, variables: Variables) -> list[Any]:
    """Hazard x duration x job value for work on a risky machine not yet maintained."""
    w, model, terms = problem.weights, variables.model, list[Any]()
    for risk in problem.risks:
        for op in problem.operations:
            duration = op.options.get(risk.machine)
            if duration is None:
                continue
            coef = w.coef(w.expected_failure, failure_cost(problem, risk.machine, op.job, duration))
            if coef == 0:
                continue
            present = variables.ops[op.key].presence[risk.machine]
            before = variables.before_reset.get((op.key, risk.machine))
            if before is None:
                terms.append(coef * present)  # no maintenance: all work here is exposed
            elif present is True:
                terms.append(coef * before)
            else:
                exposed = model.new_bool_var(f"exposed_{op.label}_{risk.machine}")
                model.add_bool_or([~present, ~before, exposed])
                terms.append(coef * exposed)
    return terms


def _changes(problem: Problem, variables: Variables) -> list[Any]:
    """Secondary: moving a previously planned, unfrozen operation costs a little."""
    w, model, terms = problem.weights, variables.model, list[Any]()
    frozen = problem.frozen()
    for planned in problem.previous:
        if planned.key in frozen:
            continue
        v = variables.ops[planned.key]
        if w.change:
            shift = model.new_int_var(0, variables.upper + abs(planned.start), "shift")
            model.add_abs_equality(shift, v.start - planned.start)
            terms.append(w.coef(w.change) * shift)
        present = v.presence[planned.machine]
        if w.change_machine and present is not True:
            terms.append(w.coef(w.change_machine) * (1 - present))
        if w.resequenced and present is not True:  # another machine: a resequence
            terms.append(w.coef(w.resequenced, w.urgency(planned.start)) * (1 - present))
        coef = w.coef(w.moved, w.urgency(planned.start))
        if coef:  # stability: any move at all, weighted by how soon the work was due
            stays = model.new_bool_var(f"stays_{planned.job}_{planned.seq}")
            model.add(v.start == planned.start).only_enforce_if(stays)
            if present is not True:
                model.add_implication(stays, present)
            terms.append(coef * (1 - stays))
    if w.resequenced:
        terms += _resequenced(problem, variables)
    return terms


def _resequenced(problem: Problem, variables: Variables) -> list[Any]:
    """Two neighbours of a machine's previous list that both stay on it in the other order
    cost `resequenced` (charged to the later one): a shift in time is cheap, a reorder is not."""
    w, model, terms = problem.weights, variables.model, list[Any]()
    for a, b in sequence_pairs(problem):
        va, vb = variables.ops[a.key], variables.ops[b.key]
        both = [
            lit
            for lit in (va.presence.get(a.machine), vb.presence.get(a.machine))
            if lit is not True
        ]
        if any(lit is None or lit is False for lit in both):
            continue
        kept = model.new_bool_var(f"order_{b.job}_{b.seq}")
        model.add(vb.start >= va.start).only_enforce_if([kept, *both])
        terms.append(w.coef(w.resequenced, w.urgency(b.start)) * (1 - kept))
    return terms
