"""Decision variables of the CP-SAT model.

An operation with one eligible machine gets a plain interval (no presence literal): on a
classic job shop the model is then exactly the textbook one, which keeps propagation tight.
With `explain=True`, release dates and the horizon become assumption-guarded constraints
instead of variable domains, so an infeasible core can name them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ortools.sat.python import cp_model

from scheduler.problem import Operation, Problem
from scheduler.risk import reset_task

OpKey = tuple[str, int]


@dataclass
class OpVars:
    start: cp_model.IntVar
    end: cp_model.IntVar
    intervals: dict[str, cp_model.IntervalVar]
    presence: dict[str, cp_model.IntVar | bool]  # True when the machine is the only option
    # machines on which the interval may span a closure (a preemptible operation pausing)
    pauses: frozenset[str] = frozenset()


@dataclass
class MaintVars:
    start: cp_model.IntVar
    end: cp_model.IntVar
    interval: cp_model.IntervalVar
    late: cp_model.IntVar | None = None


@dataclass
class Variables:
    """Every decision variable of the model; constraints and objective only read them."""

    model: cp_model.CpModel
    ops: dict[OpKey, OpVars] = field(default_factory=dict)
    maint: dict[str, MaintVars] = field(default_factory=dict)
    # (op, machine) -> literal "runs before the machine's risk-clearing maintenance", for every
    # operation eligible on a risky machine that has such a task.
    before_reset: dict[tuple[OpKey, str], cp_model.IntVar] = field(default_factory=dict)
    # job -> how long it finishes after its deadline (soft: a heavy cost, reported); an
    # overdue order may be late by more than the horizon.
    deadline_late: dict[str, cp_model.IntVar] = field(default_factory=dict)
    makespan: cp_model.IntVar | None = None
    upper: int = 0
    explain: bool = False

    @classmethod
    def build(cls, model: cp_model.CpModel, problem: Problem, explain: bool = False) -> Variables:
        upper = horizon_upper(problem, explain)
        self = cls(model=model, upper=upper, explain=explain)
        frozen = problem.frozen()
        for op in problem.operations:
            self.ops[op.key] = self._op(problem, op, frozen.get(op.key) is not None)
        for task in problem.maintenance:
            low = 0 if explain else task.release
            start = model.new_int_var(low, upper - task.duration, f"start_{task.name}")
            end = model.new_int_var(low + task.duration, upper, f"end_{task.name}")
            interval = model.new_interval_var(start, task.duration, end, f"iv_{task.name}")
            self.maint[task.name] = MaintVars(start, end, interval)
        for risk in problem.risks:
            if reset_task(problem, risk.machine) is None:
                continue
            for op in problem.operations:
                if risk.machine in op.options:
                    self.before_reset[(op.key, risk.machine)] = model.new_bool_var(
                        f"before_{op.label}_{risk.machine}"
                    )
        for job in problem.jobs:
            if job.deadline is not None and problem.job_operations(job.name):
                self.deadline_late[job.name] = model.new_int_var(
                    0, upper + max(0, -job.deadline), f"deadline_late_{job.name}"
                )
        self.makespan = model.new_int_var(0, upper, "makespan")
        return self

    def placements(
        self, values: Sequence[int]
    ) -> tuple[dict[OpKey, tuple[str, int]], dict[str, int]]:
        """Machine and start of every operation, start of every maintenance task, in a full
        assignment `values` of the model's variables."""
        ops: dict[OpKey, tuple[str, int]] = {}
        for key, v in self.ops.items():
            machine = next(
                m
                for m, present in v.presence.items()
                if present is True or (not isinstance(present, bool) and values[present.index])
            )
            ops[key] = (machine, values[v.start.index])
        return ops, {name: values[mv.start.index] for name, mv in self.maint.items()}

    def _op(self, problem: Problem, op: Operation, frozen: bool) -> OpVars:
        m, name = self.model, op.label
        low = 0 if self.explain or frozen else problem.job(op.job).release
        planned = problem.planned(op.key)
        if frozen and planned is not None:
            low = min(low, planned.start)
        shortest, longest = min(op.options.values()), max(op.options.values())
        start = m.new_int_var(low, self.upper - shortest, f"start_{name}")
        end = m.new_int_var(low + shortest, self.upper, f"end_{name}")
        pausing = {
            machine
            for machine in op.options
            if op.preemptible_across_closures and problem.machine(machine).unavailable
        }
        if pausing and low >= 0:
            return self._pausing_op(problem, op, start, end, pausing)
        if len(op.options) == 1:
            ((machine, duration),) = op.options.items()
            interval = m.new_interval_var(start, duration, end, f"iv_{name}_{machine}")
            return OpVars(start, end, {machine: interval}, {machine: True})
        intervals: dict[str, cp_model.IntervalVar] = {}
        presence: dict[str, cp_model.IntVar | bool] = {}
        for machine, duration in op.options.items():
            lit = m.new_bool_var(f"on_{name}_{machine}")
            intervals[machine] = m.new_optional_fixed_size_interval_var(
                start, duration, lit, f"iv_{name}_{machine}"
            )
            m.add(end == start + duration).only_enforce_if(lit)
            presence[machine] = lit
        m.add_exactly_one(presence.values())
        if shortest == longest:
            m.add(end == start + shortest)
        return OpVars(start, end, intervals, presence)

    def _pausing_op(
        self,
        problem: Problem,
        op: Operation,
        start: cp_model.IntVar,
        end: cp_model.IntVar,
        pausing: set[str],
    ) -> OpVars:
        """A preemptible operation: on a machine with closures its end is a table of its start
        (pausing over closed spans; no start inside one), its interval spans the pauses."""
        m, name, upper = self.model, op.label, self.upper
        intervals: dict[str, cp_model.IntervalVar] = {}
        presence: dict[str, cp_model.IntVar | bool] = {}
        single = len(op.options) == 1
        for machine, duration in op.options.items():
            lit: cp_model.IntVar | bool = True if single else m.new_bool_var(f"on_{name}_{machine}")
            on = [] if lit is True else [lit]
            if machine in pausing:
                closed = problem.machine(machine).unavailable
                table = [
                    upper + 1
                    if any(s <= t < e for s, e in closed)
                    else min(upper + 1, problem.finish(op, machine, t))
                    for t in range(upper + 1)
                ]
                finish = m.new_int_var(0, upper + 1, f"finish_{name}_{machine}")
                m.add_element(start, table, finish)
                size = m.new_int_var(duration, upper + 1, f"span_{name}_{machine}")
                m.add(finish <= upper).only_enforce_if(on)
                m.add(end == finish).only_enforce_if(on)
                if lit is True:
                    intervals[machine] = m.new_interval_var(start, size, finish, f"iv_{name}")
                else:
                    intervals[machine] = m.new_optional_interval_var(
                        start, size, finish, lit, f"iv_{name}_{machine}"
                    )
            elif lit is True:
                intervals[machine] = m.new_interval_var(start, duration, end, f"iv_{name}")
            else:
                intervals[machine] = m.new_optional_fixed_size_interval_var(
                    start, duration, lit, f"iv_{name}_{machine}"
                )
                m.add(end == start + duration).only_enforce_if(lit)
            presence[machine] = lit
        if not single:
            m.add_exactly_one(p for p in presence.values() if not isinstance(p, bool))
        return OpVars(start, end, intervals, presence, frozenset(pausing))


def horizon_upper(problem: Problem, explain: bool) -> int:
    """Variable upper bound: the horizon, or (explaining) far enough past it that only the
    assumption-guarded horizon constraint can make the model infeasible."""
    if not explain:
        return problem.horizon
    work = sum(max(op.options.values()) for op in problem.operations)
    work += sum(t.duration for t in problem.maintenance)
    setups = sum(s.duration for s in problem.setups)
    closed = sum(e - s for m in problem.machines for s, e in m.unavailable)
    latest = max([j.release for j in problem.jobs] + [t.release for t in problem.maintenance])
    return problem.horizon + work + setups + closed + latest + 1
