"""Check a plan against every hard rule of the model, independently of the solver.

The dispatch plan is only handed out as `feasible (dispatch)` when this finds nothing; tests
use it to check the solver's plans the same way. Soft rules (due dates, deadlines, maintenance
after `rul_low`) are costs and violations, not errors, and are not checked here.
"""

from __future__ import annotations

from itertools import pairwise

from scheduler.plan import Plan, ScheduledOperation
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
        if o.machine not in op.options or o.end != problem.finish(op, o.machine, o.start):
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
    per_machine: dict[str, list[ScheduledOperation]] = {m.name: [] for m in problem.machines}
    for item in plan.operations:
        per_machine[item.machine].append(item)
    for machine in problem.machines:
        ops = sorted(per_machine[machine.name], key=_start)
        spans = sorted(
            [(i.start, i.end) for i in ops]
            + [(m.start, m.end) for m in plan.maintenance if m.machine == machine.name]
        )
        for (_, end), (start, _) in pairwise(spans):
            if start < end:
                found.append(f"{machine.name}: work overlaps at {clock(start)}")
        for x, y in pairwise(ops):  # setups between consecutive operations (triangle rule)
            gap = setups.get((machine.name, x.job, y.job), 0)
            if gap and y.start < x.end + gap:
                found.append(f"{machine.name}: no {gap}-minute setup before {y.job}/{y.seq}")
        for item in ops:
            if (item.job, item.seq) in frozen:
                continue
            if problem.operation((item.job, item.seq)).preemptible_across_closures:
                spans_ = machine.unavailable  # it may pause over a closure, not start in one
                if any(s <= item.start < e for s, e in spans_):
                    found.append(f"{machine.name}: {item.job}/{item.seq} starts while closed")
                continue
            for s, e in machine.unavailable:
                if item.start < e and s < item.end:
                    found.append(
                        f"{machine.name}: {item.job}/{item.seq} at {clock(item.start)} while closed"
                    )
        for m in plan.maintenance:
            if m.machine == machine.name and any(
                m.start < e and s < m.end for s, e in machine.unavailable
            ):
                found.append(f"{machine.name}: {m.name} at {clock(m.start)} while closed")
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
            found.append(
                f"maintenance needs more than {problem.crew_size} maintainers at {clock(at)}"
            )
            break
    done = {m.name: m for m in plan.maintenance}
    for risk in problem.risks:
        reset = reset_task(problem, risk.machine)
        if reset is None or risk.rul_low is None or reset.name not in done:
            continue
        cleared = done[reset.name].start
        for o in plan.operations:
            exposed = o.machine == risk.machine and o.start < cleared and o.end > risk.rul_low
            if exposed and (o.job, o.seq) not in frozen:
                found.append(
                    f"{o.job}/{o.seq} runs on {risk.machine} past its predicted failure "
                    f"{clock(risk.rul_low)} before maintenance"
                )
    return found[:limit]


def _start(o: ScheduledOperation) -> int:
    return o.start
