"""Turn placements (machine and start per operation, start per maintenance task) into a Plan:
ordered work, job outcomes, costs, violations, and the risk behind each decision.

Both the CP-SAT backend and the dispatching rules end here, so their plans read the same.
"""

from __future__ import annotations

from scheduler.evaluate import deadline_violations, evaluate, maintenance_violations
from scheduler.plan import JobOutcome, Plan, ScheduledMaintenance, ScheduledOperation
from scheduler.problem import Operation, Problem
from scheduler.risk import reset_task

Placements = dict[tuple[str, int], tuple[str, int]]


def build_plan(problem: Problem, ops: Placements, maint_starts: dict[str, int]) -> Plan:
    """A complete plan from where and when each operation and maintenance task starts."""
    maintenance = tuple(
        sorted(
            (
                ScheduledMaintenance(t.name, t.machine, s, s + t.duration, t.cause)
                for t in problem.maintenance
                if (s := maint_starts.get(t.name)) is not None
            ),
            key=lambda m: (m.machine, m.start),
        )
    )
    scheduled = []
    for op in problem.operations:
        machine, start = ops[op.key]
        reason = _reason(problem, op, machine, start, maint_starts)
        end = problem.finish(op, machine, start)
        scheduled.append(ScheduledOperation(op.job, op.seq, machine, start, end, reason))
    scheduled.sort(key=lambda o: (o.machine, o.start))
    ends = {(o.job, o.seq): o.end for o in scheduled}
    jobs = []
    for job in problem.jobs:
        last = problem.job_operations(job.name)
        if not last:
            continue
        completion = ends[last[-1].key]
        lateness = completion - job.due if job.due is not None else 0
        jobs.append(JobOutcome(job.name, completion, lateness))
    plan = Plan(tuple(scheduled), maintenance, tuple(jobs))
    return Plan(
        plan.operations,
        plan.maintenance,
        plan.jobs,
        tuple(maintenance_violations(problem, plan) + deadline_violations(problem, plan)),
        {k: v / problem.weights.scale for k, v in evaluate(problem, plan).items()},
    )


def _reason(
    problem: Problem, op: Operation, machine: str, start: int, maint_starts: dict[str, int]
) -> str | None:
    """Which risk drove this placement, in words; None when no risk was involved."""
    risk = problem.risk(machine)
    if risk is not None and risk.rate > 0:
        task = reset_task(problem, machine)
        if task is None:
            return f"exposed on {machine}, no alternative worth it: {risk.describe()}"
        if start >= maint_starts.get(task.name, start + 1):
            return f"after {task.name} cleared {risk.describe()}"
        return f"before {task.name}, ends by rul_low: {risk.describe()}"
    avoided = [r for m in op.options if m != machine and (r := problem.risk(m)) and r.rate > 0]
    if avoided:
        return "moved off risky " + "; ".join(r.describe() for r in avoided)
    return None
