"""Check a plan against every hard rule of the model, independently of the solver.

The dispatch plan is only handed out as `feasible (dispatch)` when this finds nothing; tests
use it to check the solver's plans the same way. Soft rules (due dates, deadlines, maintenance
after `rul_low`) are costs and violations, not errors, and are not checked here.
"""

from __future__ import annotations

from itertools import pairwise

from scheduler.plan import Plan
from scheduler.problem import Problem
from scheduler.risk import reset_task


def hard_violations(problem: Problem, plan: Plan, limit: int = 10) -> list[str]:
    """Up to `limit` sentences naming a broken hard rule; empty when the plan keeps them all."""
    found: list[str] = []
    clock = problem.clock
    frozen = problem.frozen()
    placed = {(o.job, o.seq): o for o in plan.operations}
    for op in problem.operations:
        o = placed.get(op.key)
        if o is None:
            found.append(f"{op.label} is not planned")
            continue
        if o.machine not in op.options or o.end - o.start != op.options[o.machine]:
            found.append(f"{op.label} is on {o.machine} for {o.end - o.start} minutes")
        if op.key in frozen:
            p = frozen[op.key]
            if (o.machine, o.start) != (p.machine, p.start):
                found.append(f"frozen {op.label} moved from {p.machine} at {clock(p.start)}")
        elif o.start < problem.job(op.job).release:
            found.append(f"{op.label} starts {clock(o.start)}, before its release")
        if o.end > problem.horizon:
            found.append(f"{op.label} ends {clock(o.end)}, after the plan ends")
    for job in problem.jobs:
        for a, b in pairwise(problem.job_operations(job.name)):
            pa, pb = placed.get(a.key), placed.get(b.key)
            if pa and pb and pb.start < pa.end:
                found.append(f"{b.label} starts {clock(pb.start)} before {a.label} ends")
    setups = {(s.machine, s.from_job, s.to_job): s.duration for s in problem.setups}
    for machine in problem.machines:
        items = plan.machine_schedule(machine.name)
        for a, b in pairwise(items):
            gap = 0
            if hasattr(a, "job") and hasattr(b, "job"):
                gap = setups.get((machine.name, a.job, b.job), 0)  # type: ignore[union-attr]
            if b.start < a.end + gap:
                found.append(f"{machine.name}: work overlaps at {clock(b.start)}")
        for item in items:
            for s, e in machine.unavailable:
                if item.start < e and s < item.end and not _frozen_item(item, frozen):
                    found.append(f"{machine.name}: work at {clock(item.start)} while closed")
    tasks = {t.name: t for t in problem.maintenance}
    for m in plan.maintenance:
        task = tasks[m.name]
        if m.start < task.release or m.end > problem.horizon:
            found.append(f"maintenance {m.name} at {clock(m.start)} is outside its window")
    events = sorted(
        [(m.start, tasks[m.name].crew) for m in plan.maintenance]
        + [(m.end, -tasks[m.name].crew) for m in plan.maintenance]
    )
    used = 0
    for at, delta in events:
        used += delta
        if used > problem.crew_size:
            found.append(f"maintenance needs more than {problem.crew_size} maintainers at {clock(at)}")
            break
    done = {m.name: m for m in plan.maintenance}
    for risk in problem.risks:
        task = reset_task(problem, risk.machine)
        if task is None or risk.rul_low is None or task.name not in done:
            continue
        cleared = done[task.name].start
        for o in plan.operations:
            if o.machine == risk.machine and o.start < cleared and o.end > risk.rul_low:
                if (o.job, o.seq) not in frozen:
                    found.append(
                        f"{o.job}/{o.seq} runs on {risk.machine} past its predicted failure "
                        f"{clock(risk.rul_low)} before maintenance"
                    )
    return found[:limit]


def _frozen_item(item: object, frozen: dict[tuple[str, int], object]) -> bool:
    key = (getattr(item, "job", None), getattr(item, "seq", None))
    return key in frozen
