"""Cheap infeasibility checks that name the culprit before the solver is asked.

They catch the common, obvious mistakes (no machine can ever take an operation, a deadline
shorter than the work, a task needing more crew than exists) in microseconds and with clearer
words than an infeasible core. Anything subtler is left to the solver's assumptions.
"""

from __future__ import annotations

from scheduler.problem import Machine, Problem


def precheck(problem: Problem) -> list[str]:
    """Explanations of why `problem` cannot be solved; empty when nothing obvious is wrong."""
    found: list[str] = []
    machines = {m.name: m for m in problem.machines}
    for op in problem.operations:
        release = problem.job(op.job).release
        if not any(
            _has_window(machines[m], release, problem.horizon, d) for m, d in op.options.items()
        ):
            found.append(
                f"machine availability: operation {op.label} has no eligible machine "
                f"({', '.join(sorted(op.options))}) free long enough between release {release} "
                f"and horizon {problem.horizon}"
            )
    for job in problem.jobs:
        ops = problem.job_operations(job.name)
        work = sum(min(op.options.values()) for op in ops)
        for limit, what in ((job.deadline, "deadline"), (problem.horizon, "horizon")):
            if limit is not None and ops and job.release + work > limit:
                found.append(
                    f"{what}: job {job.name} needs at least {work} after release {job.release}, "
                    f"past its {what} {limit}"
                )
    for task in problem.maintenance:
        if task.crew > problem.crew_size:
            found.append(
                f"maintenance crew: task {task.name} on {task.machine} needs {task.crew} "
                f"maintainers, the crew has {problem.crew_size}"
            )
        if not _has_window(machines[task.machine], task.release, problem.horizon, task.duration):
            found.append(
                f"machine availability: maintenance {task.name} does not fit on {task.machine} "
                f"before horizon {problem.horizon}"
            )
    return found


def _has_window(machine: Machine, release: int, horizon: int, duration: int) -> bool:
    """Whether `machine` has a free span of `duration` inside [release, horizon)."""
    t = release
    for start, end in sorted(machine.unavailable):
        if start - t >= duration:
            return True
        t = max(t, end)
    return horizon - t >= duration
