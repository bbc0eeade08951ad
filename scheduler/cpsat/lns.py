"""Neighbourhood search on one CP-SAT model: fix most of the incumbent through variable domains,
solve the freed part briefly, keep what is no worse, restore the domains; never a rebuild.

Also `complete`: the dispatch plan's starts and machines, fixed through the solver's
`fix_variables_to_their_hinted_value`, solved once, give a value for every variable of the
model (tardiness, exposure, before-maintenance literals...). A complete, feasible hint is what
lets the full search start from a plan instead of repairing a partial one.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from scheduler.cpsat.stop_signal import stopping
from scheduler.cpsat.variables import OpKey, Variables
from scheduler.problem import Problem

_log = logging.getLogger(__name__)

# Above this many operations neighbourhood steps skip CP-SAT's presolve (measured on the
# 2000x5x100 plant: presolving the mostly fixed model took the whole 2 s step).
PRESOLVE_MAX_OPS = 3000


@dataclass
class Incumbent:
    """A full assignment of the model's variables and its objective."""

    values: list[int]
    objective: float
    bound: float


def set_hint(model: cp_model.CpModel, values: Sequence[int]) -> None:
    """Hint every variable of the model (a complete assignment)."""
    hint = model.proto.solution_hint
    hint.vars.clear()
    hint.values.clear()
    hint.vars.extend(range(len(values)))
    hint.values.extend(values)


def complete(model: cp_model.CpModel, time_limit_s: float, num_workers: int) -> Incumbent | None:
    """The model's current (partial) hint, fixed and solved: a complete assignment or None."""
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True
    solver.parameters.cp_model_presolve = False  # all fixed: propagation alone completes it
    solver.parameters.max_time_in_seconds = max(0.05, time_limit_s)
    solver.parameters.num_workers = num_workers
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    # The bound of a fixed model says nothing about the free one.
    return Incumbent(list(solver.response_proto.solution), solver.objective_value, -math.inf)


class Neighbourhoods:
    """Which variables to keep fixed: all but a time window of operations, a few machines'
    operations, a few jobs' operations, or the early work of a risky machine (maintenance on
    a freed machine is freed too, so it can move ahead of the work it protects).

    With a `focus` (a replan's affected work), every other step frees the work nearest in
    time to one focused operation on the machines it may use, with their jobs' later steps:
    where a disruption pushed work, that is where the plan has room to gain."""

    def __init__(
        self, problem: Problem, variables: Variables, seed: int, focus: Collection[OpKey] = ()
    ) -> None:
        self.rng = random.Random(seed)
        self.keys = [op.key for op in problem.operations]
        index = {key: i for i, key in enumerate(self.keys)}
        self.focus = sorted(index[key] for key in focus if key in index)
        self.due_at = {key: problem.job(key[0]).release for key in focus}
        self.due_at.update({p.key: p.start for p in problem.previous if p.key in focus})
        self.by_machine: dict[str, list[int]] = {}
        for i, op in enumerate(problem.operations):
            for machine in op.options:
                self.by_machine.setdefault(machine, []).append(i)
        self.by_job: dict[str, list[int]] = {}
        for i, op in enumerate(problem.operations):
            self.by_job.setdefault(op.job, []).append(i)
        self.maint_machine = {t.name: t.machine for t in problem.maintenance}
        self.risky = sorted({t.machine for t in problem.maintenance} & set(self.by_machine))
        self.due = {
            j.name: (j.due, problem.job_operations(j.name)[-1].key, j.release)
            for j in problem.jobs
            if j.due is not None and problem.job_operations(j.name)
        }
        self.variables = variables
        self.picks = 0

    def pick(self, values: Sequence[int], size: int) -> tuple[set[int], set[str]]:
        """Indices of operations to free and the machines they touch."""
        ops = self.variables.ops
        kind = self.rng.random()
        freed: set[int] = set()
        late = [
            (values[ops[last].end.index] - due, job, release)
            for job, (due, last, release) in self.due.items()
            if values[ops[last].end.index] > due
        ]
        self.picks += 1
        if self.focus and self.picks % 2 == 0:  # late focused work first
            lagging = {job for _, job, _ in late}
            pool = [i for i in self.focus if self.keys[i][0] in lagging] or self.focus
            freed = self._around(values, self.keys[self.rng.choice(pool)], size)
        elif late and self.picks % 2 == 1:  # every other step while some job is late
            # A late job (one of the latest) and the work early enough to make room for it.
            late.sort(reverse=True)
            _, job, release = late[self.rng.randrange(min(3, len(late)))]
            freed.update(self.by_job[job])
            machines = {m for i in self.by_job[job] for m in ops[self.keys[i]].intervals}
            window = [
                i
                for m in machines
                for i in self.by_machine[m]
                if values[ops[self.keys[i]].start.index] >= release
            ]
            window.sort(key=lambda i: values[ops[self.keys[i]].start.index])
            for i in window:  # with the later steps of their jobs, so they can make room
                other, seq = self.keys[i]
                freed.update(k for k in self.by_job[other] if self.keys[k][1] >= seq)
                if len(freed) >= 2 * size:
                    break
        elif self.risky and kind < 0.25:
            # A risky machine's early work with the rest of those jobs, and its maintenance:
            # so maintenance can move ahead and the work behind it (and their successors) shift.
            machine = self.rng.choice(self.risky)
            cleared = max(
                values[self.variables.maint[t].start.index]
                for t, m in self.maint_machine.items()
                if m == machine
            )
            early = [
                i
                for i in self.by_machine[machine]
                if values[ops[self.keys[i]].start.index] <= cleared + self.rng.randint(0, 240)
            ]
            for i in early:
                job, seq = self.keys[i]
                freed.update(k for k in self.by_job[job] if self.keys[k][1] >= seq)
                if len(freed) >= 2 * size:
                    break
        elif kind < 0.55:
            order = sorted(
                range(len(self.keys)), key=lambda i: values[ops[self.keys[i]].start.index]
            )
            first = self.rng.randrange(max(1, len(order) - size + 1))
            freed.update(order[first : first + size])
        elif kind < 0.8:  # a few machines
            shuffled = list(self.by_machine)
            self.rng.shuffle(shuffled)
            for m in shuffled:
                if len(freed) >= size:
                    break
                freed.update(self.by_machine[m])
        else:
            jobs = list(self.by_job)
            self.rng.shuffle(jobs)
            for j in jobs:
                if len(freed) >= size:
                    break
                freed.update(self.by_job[j])
        touched = {m for i in freed for m in ops[self.keys[i]].intervals}
        return freed, touched

    def _around(self, values: Sequence[int], key: OpKey, size: int) -> set[int]:
        """`key`'s job from `key` on, and the operations on `key`'s machines nearest in time to
        where it was due (its previous start, or its release when new), with their later
        steps: room for displaced work at about its old time, the work there pushed right."""
        ops = self.variables.ops
        job, seq = key
        at = self.due_at.get(key, values[ops[key].start.index])
        freed = {k for k in self.by_job[job] if self.keys[k][1] >= seq}
        near = sorted(
            {i for m in ops[key].intervals for i in self.by_machine[m]},
            key=lambda i: abs(values[ops[self.keys[i]].start.index] - at),
        )
        for i in near:
            if len(freed) >= size:
                break
            other, step = self.keys[i]
            freed.update(k for k in self.by_job[other] if self.keys[k][1] >= step)
        return freed


def improve(
    problem: Problem,
    variables: Variables,
    incumbent: Incumbent,
    deadline: float,
    num_workers: int,
    seed: int = 0,
    sub_limit_s: float = 2.0,
    presolve: bool | None = None,
    focus: Collection[OpKey] = (),
    stop: threading.Event | None = None,
) -> tuple[Incumbent, int]:
    """Neighbourhood search from `incumbent` until `deadline` (time.perf_counter()) or `stop`;
    returns the best incumbent (never worse) and the number of steps. `focus`: see
    `Neighbourhoods`. `stop` ends the step in flight too (its solver's search is stopped), so
    a stopping worker waits for one poll, not for a step's whole sub-limit."""
    model = variables.model
    proto = model.proto
    if presolve is None:
        presolve = len(problem.operations) <= PRESOLVE_MAX_OPS
    hoods = Neighbourhoods(problem, variables, seed, focus)
    best = incumbent
    size = max(20, min(400, len(hoods.keys) // 10))
    steps = 0
    while deadline - time.perf_counter() > 0.2 and best.objective > best.bound:
        if stop is not None and stop.is_set():
            break
        freed, touched = hoods.pick(best.values, size)
        fixed: list[int] = []
        for i, key in enumerate(hoods.keys):
            if i in freed:
                continue
            v = variables.ops[key]
            fixed.append(v.start.index)
            fixed.extend(p.index for p in v.presence.values() if not isinstance(p, bool))
        for name, mv in variables.maint.items():
            if hoods.maint_machine[name] not in touched:
                fixed.append(mv.start.index)
        saved = [(i, list(proto.variables[i].domain)) for i in fixed]
        for i in fixed:
            domain = proto.variables[i].domain
            domain.clear()
            domain.extend([best.values[i], best.values[i]])
        set_hint(model, best.values)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(
            0.05, min(sub_limit_s, deadline - time.perf_counter())
        )
        solver.parameters.num_workers = num_workers
        solver.parameters.random_seed = seed + steps
        # Most of the model is fixed: presolving it again each step costs more than it gives.
        solver.parameters.cp_model_presolve = presolve
        with stopping(solver, stop):
            status = solver.solve(model)
        for i, domain_values in saved:
            domain = proto.variables[i].domain
            domain.clear()
            domain.extend(domain_values)
        steps += 1
        _log.debug(
            "lns step %d: %d freed, %s in %.2f s (presolve+search), objective %.0f",
            steps, len(freed), solver.status_name(status), solver.wall_time,
            solver.objective_value if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else -1,
        )  # fmt: skip
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if solver.objective_value <= best.objective:
                if solver.objective_value < best.objective:
                    _log.debug(
                        "lns step %d: %.0f -> %.0f", steps, best.objective, solver.objective_value
                    )
                # Nothing fixed and solved to optimality: no neighbourhood can do better.
                bound = (
                    best.bound if fixed or status != cp_model.OPTIMAL else solver.objective_value
                )
                best = Incumbent(
                    list(solver.response_proto.solution), solver.objective_value, bound
                )
            size = (
                min(len(hoods.keys), int(size * 1.15))
                if status == cp_model.OPTIMAL
                else max(10, int(size * 0.85))
            )
        else:
            size = max(10, int(size * 0.7))
    set_hint(model, best.values)
    return best, steps
