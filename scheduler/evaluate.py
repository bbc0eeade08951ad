"""Score any plan under the problem's objective, with the solver's exact integer arithmetic.

Used to fill `Plan.costs`, to check the solver against itself in tests, and to score a
dispatching rule's plan fairly (expected failure cost included) in the benchmark.
"""

from __future__ import annotations

from itertools import pairwise

from scheduler.plan import Plan, Violation
from scheduler.problem import PlannedOperation, Problem
from scheduler.risk import failure_cost, reset_task


def evaluate(problem: Problem, plan: Plan) -> dict[str, int]:
    """Scaled integer cost of each objective term, plus `total`."""
    w = problem.weights
    costs = dict.fromkeys(
        (
            "makespan",
            "tardiness",
            "maintenance",
            "maintenance_late",
            "deadline_late",
            "expected_failure",
            "change",
        ),
        0,
    )
    costs["makespan"] = w.coef(w.makespan) * plan.makespan if w.makespan else 0
    done = {(o.job, o.seq): o for o in plan.operations}
    if w.tardiness:
        for outcome in plan.jobs:
            job = problem.job(outcome.job)
            if job.due is not None and job.weight:
                costs["tardiness"] += w.coef(w.tardiness * job.weight) * outcome.tardiness
    if w.deadline_late:
        for outcome in plan.jobs:
            deadline = problem.job(outcome.job).deadline
            if deadline is not None and outcome.completion > deadline:
                costs["deadline_late"] += w.coef(w.deadline_late) * (outcome.completion - deadline)
    maint = {m.name: m for m in plan.maintenance}
    for task in problem.maintenance:
        costs["maintenance"] += w.coef(w.maintenance, task.cost)
        if task.deadline is not None and task.name in maint:
            late = max(0, maint[task.name].end - task.deadline)
            costs["maintenance_late"] += w.coef(w.maintenance_late) * late
    if w.expected_failure:
        for risk in problem.risks:
            reset = reset_task(problem, risk.machine)
            cleared = maint[reset.name].start if reset and reset.name in maint else None
            for op in plan.operations:
                if op.machine != risk.machine or (cleared is not None and op.start >= cleared):
                    continue
                cost = failure_cost(problem, op.machine, op.job, op.end - op.start)
                costs["expected_failure"] += w.coef(w.expected_failure, cost)
    frozen = problem.frozen()
    for planned in problem.previous:
        now = done.get(planned.key)
        if planned.key in frozen or now is None:
            continue
        costs["change"] += w.coef(w.change) * abs(now.start - planned.start)
        if now.machine != planned.machine and len(_options(problem, planned.key)) > 1:
            costs["change"] += w.coef(w.change_machine)
        if (now.machine, now.start) != (planned.machine, planned.start):
            costs["change"] += w.coef(w.moved, w.urgency(planned.start))
        if now.machine != planned.machine and len(_options(problem, planned.key)) > 1:
            costs["change"] += w.coef(w.resequenced, w.urgency(planned.start))
    if w.resequenced:
        for a, b in sequence_pairs(problem):
            now_a, now_b = done.get(a.key), done.get(b.key)
            if now_a is None or now_b is None or not now_a.machine == now_b.machine == a.machine:
                continue
            if now_b.start < now_a.start:
                costs["change"] += w.coef(w.resequenced, w.urgency(b.start))
    costs["total"] = sum(costs.values())
    return costs


def sequence_pairs(problem: Problem) -> list[tuple[PlannedOperation, PlannedOperation]]:
    """Neighbours in each machine's previous list (unfrozen work only): the later one costs
    `resequenced` when both stay on the machine and it now starts first."""
    frozen = problem.frozen()
    per: dict[str, list[PlannedOperation]] = {}
    for planned in problem.previous:
        if planned.key not in frozen:
            per.setdefault(planned.machine, []).append(planned)
    pairs: list[tuple[PlannedOperation, PlannedOperation]] = []
    for placed in per.values():
        placed.sort(key=lambda p: (p.start, p.key))
        pairs.extend(pairwise(placed))
    return pairs


def moved_operations(problem: Problem, plan: Plan) -> int:
    """Previously planned operations this plan puts elsewhere or at another time (frozen work
    a disruption let go counts; work left out of the plan counts too)."""
    done = {(o.job, o.seq): o for o in plan.operations}
    moved = 0
    for planned in problem.previous:
        now = done.get(planned.key)
        if now is None or (now.machine, now.start) != (planned.machine, planned.start):
            moved += 1
    return moved


def deadline_violations(problem: Problem, plan: Plan) -> list[Violation]:
    """Orders finishing after their hard deadline: late, costly and reported, never silent."""
    found = []
    for outcome in plan.jobs:
        deadline = problem.job(outcome.job).deadline
        if deadline is not None and outcome.completion > deadline:
            late = outcome.completion - deadline
            found.append(
                Violation(
                    constraint="deadline",
                    subject=outcome.job,
                    amount=late,
                    message=(
                        f"job {outcome.job} finishes {problem.clock(outcome.completion)}, "
                        f"{late} minutes after its deadline {problem.clock(deadline)}"
                    ),
                )
            )
    return found


def maintenance_violations(problem: Problem, plan: Plan) -> list[Violation]:
    """Risk-driven maintenance finishing after its deadline (rul_low): never silent."""
    found = []
    tasks = {t.name: t for t in problem.maintenance}
    for m in plan.maintenance:
        spec = tasks[m.name]
        if spec.deadline is not None and m.end > spec.deadline:
            found.append(
                Violation(
                    constraint="maintenance_deadline",
                    subject=spec.machine,
                    amount=m.end - spec.deadline,
                    message=(
                        f"maintenance {spec.name} on {spec.machine} ends "
                        f"{problem.clock(m.end)}, {m.end - spec.deadline} minutes after its "
                        f"deadline {problem.clock(spec.deadline)}"
                        + (f" ({spec.cause})" if spec.cause else "")
                    ),
                )
            )
    return found


def _options(problem: Problem, key: tuple[str, int]) -> dict[str, int]:
    return problem.operation(key).options
