"""Constraint families of the CP-SAT model, one private method each.

Families that can make a problem infeasible (releases, calendars, frozen work, the horizon)
are guarded by an assumption literal when explaining, so an infeasible core names
them; `assumptions` maps each literal to a sentence for people.
"""

from __future__ import annotations

from itertools import combinations, pairwise

from ortools.sat.python import cp_model

from scheduler.cpsat.variables import OpKey, Variables
from scheduler.problem import Problem
from scheduler.risk import reset_task


class Constraints:
    """Adds every constraint family of `problem` to the model behind `variables`."""

    def __init__(self, problem: Problem, variables: Variables, setups: str = "circuit") -> None:
        if setups not in ("circuit", "pairwise"):
            raise ValueError(f"setup formulation {setups!r}: expected circuit or pairwise")
        self.setups = setups
        self.problem = problem
        self.vars = variables
        self.model = variables.model
        self.assumptions: dict[int, str] = {}
        self.assumption_literals: list[cp_model.IntVar] = []

    def add_constraints(self) -> None:
        self._releases_and_horizon()
        self._job_precedence()
        self._job_deadlines()
        self._machine_capacity()
        self._setup_times()
        self._maintenance_crew()
        self._maintenance_deadlines()
        self._risk_before_failure()
        self._frozen_window()
        self._makespan()

    def _guard(self, description: str) -> list[cp_model.IntVar]:
        """An enforcement literal when explaining (recorded as an assumption), else none."""
        if not self.vars.explain:
            return []
        literal = self.model.new_bool_var(description)
        self.assumptions[literal.index] = description
        self.assumption_literals.append(literal)
        return [literal]

    def _releases_and_horizon(self) -> None:
        if not self.vars.explain:
            return  # encoded in the variable domains
        frozen = self.problem.frozen()
        clock = self.problem.clock
        for job in self.problem.jobs:
            guard = self._guard(f"release: job {job.name} cannot start before {clock(job.release)}")
            for op in self.problem.job_operations(job.name):
                if op.key not in frozen:
                    self.model.add(self.vars.ops[op.key].start >= job.release).only_enforce_if(
                        guard
                    )
        for task in self.problem.maintenance:
            guard = self._guard(
                f"release: maintenance {task.name} not before {clock(task.release)}"
            )
            self.model.add(self.vars.maint[task.name].start >= task.release).only_enforce_if(guard)
        guard = self._guard(f"horizon: all work must end by {clock(self.problem.horizon)}")
        for v in self.vars.ops.values():
            self.model.add(v.end <= self.problem.horizon).only_enforce_if(guard)
        for mv in self.vars.maint.values():
            self.model.add(mv.end <= self.problem.horizon).only_enforce_if(guard)

    def _job_precedence(self) -> None:
        for job in self.problem.jobs:
            ops = self.problem.job_operations(job.name)
            for before, after in pairwise(ops):
                self.model.add(self.vars.ops[before.key].end <= self.vars.ops[after.key].start)

    def _job_deadlines(self) -> None:
        """Soft: finishing after the deadline costs `deadline_late` per unit and is reported, so
        a deadline already missed (an overdue order) makes the order late, not the plan fail."""
        for job in self.problem.jobs:
            ops = self.problem.job_operations(job.name)
            if job.deadline is None or not ops:
                continue
            end = self.vars.ops[ops[-1].key].end
            self.model.add(self.vars.deadline_late[job.name] >= end - job.deadline)

    def _machine_capacity(self) -> None:
        """One thing at a time per machine: operations, maintenance and closed calendar spans."""
        per: dict[str, list[cp_model.IntervalVar]] = {m.name: [] for m in self.problem.machines}
        pausing: dict[str, list[cp_model.IntervalVar]] = {}
        for v in self.vars.ops.values():
            for name, interval in v.intervals.items():
                if name in v.pauses:  # may span a closure: kept apart from the closures
                    pausing.setdefault(name, []).append(interval)
                else:
                    per[name].append(interval)
        for task in self.problem.maintenance:
            per[task.machine].append(self.vars.maint[task.name].interval)
        clock = self.problem.clock
        for machine in self.problem.machines:
            intervals = per[machine.name]
            if machine.unavailable:
                closed = ", ".join(f"{clock(s)} to {clock(e)}" for s, e in machine.unavailable)
                guard = self._guard(f"calendar: machine {machine.name} closed {closed}")
                for start, end in machine.unavailable:
                    if guard:
                        intervals.append(
                            self.model.new_optional_fixed_size_interval_var(
                                start, end - start, guard[0], f"closed_{machine.name}_{start}"
                            )
                        )
                    else:
                        intervals.append(
                            self.model.new_fixed_size_interval_var(
                                start, end - start, f"closed_{machine.name}_{start}"
                            )
                        )
            if len(intervals) > 1:
                self.model.add_no_overlap(intervals)
            if machine.name in pausing:  # pausing work: apart from other work, not closures
                work = [i for i in intervals if not i.name.startswith("closed_")]
                self.model.add_no_overlap(work + pausing[machine.name])

    def _setup_times(self) -> None:
        if self.setups == "circuit":
            self._setup_circuits()
        else:
            self._setup_pairs()

    def _setup_circuits(self) -> None:
        """Changeovers as a route per machine (`add_circuit`): a depot node and one node per
        operation that may run there; an arc i -> j means j directly follows i, and then the
        gap covers the setup of i's job to j's. An operation on another machine takes its
        self-loop. Exact for any setup matrix (no triangle inequality needed), and the
        sequence propagates through the no-overlap intervals."""
        setups = {(s.machine, s.from_job, s.to_job): s.duration for s in self.problem.setups}
        per: dict[str, list[OpKey]] = {}
        for op in self.problem.operations:
            for machine in op.options:
                per.setdefault(machine, []).append(op.key)
        for machine in sorted({s.machine for s in self.problem.setups}):
            keys = per.get(machine, [])
            if len(keys) < 2:
                continue
            arcs: list[tuple[int, int, cp_model.IntVar]] = []
            empty = self.model.new_bool_var(f"empty_{machine}")
            arcs.append((0, 0, empty))
            for i, key in enumerate(keys, start=1):
                v = self.vars.ops[key]
                present = v.presence[machine]
                if present is not True:
                    arcs.append((i, i, ~present))  # type: ignore[arg-type]
                    self.model.add_implication(empty, ~present)
                else:
                    self.model.add(empty == 0)
                arcs.append((0, i, self.model.new_bool_var(f"first_{key}_{machine}")))
                arcs.append((i, 0, self.model.new_bool_var(f"last_{key}_{machine}")))
            for i, a in enumerate(keys, start=1):
                va = self.vars.ops[a]
                for j, b in enumerate(keys, start=1):
                    if i == j:
                        continue
                    vb = self.vars.ops[b]
                    if a[0] == b[0] and a[1] > b[1]:
                        continue  # a later step of a job never directly precedes an earlier one
                    lit = self.model.new_bool_var(f"next_{a}_{b}_{machine}")
                    gap = setups.get((machine, a[0], b[0]), 0) if a[0] != b[0] else 0
                    self.model.add(vb.start >= va.end + gap).only_enforce_if(lit)
                    arcs.append((i, j, lit))
            self.model.add_circuit(arcs)

    def _setup_pairs(self) -> None:
        """Pairwise changeovers: whichever operation goes first, the gap covers the setup
        (exact when setups obey the triangle inequality; one Boolean per pair)."""
        setups = {(s.machine, s.from_job, s.to_job): s.duration for s in self.problem.setups}
        machines = {s.machine for s in self.problem.setups}
        for machine in machines:
            ops = [op for op in self.problem.operations if machine in op.options]
            for a, b in combinations(ops, 2):
                ab = setups.get((machine, a.job, b.job), 0)
                ba = setups.get((machine, b.job, a.job), 0)
                if a.job == b.job or (ab == 0 and ba == 0):
                    continue
                va, vb = self.vars.ops[a.key], self.vars.ops[b.key]
                both = [
                    lit for lit in (va.presence[machine], vb.presence[machine]) if lit is not True
                ]
                a_first = self.model.new_bool_var(f"first_{a.label}_{b.label}_{machine}")
                self.model.add(vb.start >= va.end + ab).only_enforce_if([a_first, *both])
                self.model.add(va.start >= vb.end + ba).only_enforce_if([~a_first, *both])

    def _maintenance_crew(self) -> None:
        tasks = self.problem.maintenance
        if tasks:
            self.model.add_cumulative(
                [self.vars.maint[t.name].interval for t in tasks],
                [t.crew for t in tasks],
                self.problem.crew_size,
            )

    def _maintenance_deadlines(self) -> None:
        """Soft: lateness past the deadline (rul_low for risk tasks) is penalised and reported."""
        for task in self.problem.maintenance:
            if task.deadline is None:
                continue
            mv = self.vars.maint[task.name]
            mv.late = self.model.new_int_var(0, self.vars.upper, f"late_{task.name}")
            self.model.add(mv.late >= mv.end - task.deadline)

    def _risk_before_failure(self) -> None:
        """Work before a risky machine's maintenance is flagged (it carries expected failure
        cost) and must end by rul_low: nothing runs past predicted failure unmaintained."""
        frozen = self.problem.frozen()
        for risk in self.problem.risks:
            task = reset_task(self.problem, risk.machine)
            if task is None:
                continue
            mv = self.vars.maint[task.name]
            for op in self.problem.operations:
                if risk.machine not in op.options:
                    continue
                v = self.vars.ops[op.key]
                present = v.presence[risk.machine]
                on = [] if present is True else [present]
                before = self.vars.before_reset[(op.key, risk.machine)]
                self.model.add(v.end <= mv.start).only_enforce_if([before, *on])
                self.model.add(v.start >= mv.end).only_enforce_if([~before, *on])
                if risk.rul_low is not None and op.key not in frozen:  # committed work stays
                    self.model.add(v.end <= risk.rul_low).only_enforce_if([before, *on])

    def _frozen_window(self) -> None:
        """Operations started or inside the frozen window keep their machine and start."""
        for key, planned in self.problem.frozen().items():
            v = self.vars.ops[key]
            guard = self._guard(
                f"frozen: {key[0]}/{key[1]} stays on {planned.machine} at "
                f"{self.problem.clock(planned.start)}"
            )
            self.model.add(v.start == planned.start).only_enforce_if(guard)
            present = v.presence[planned.machine]
            if present is not True:
                self.model.add(present == 1).only_enforce_if(guard)

    def _makespan(self) -> None:
        assert self.vars.makespan is not None
        lasts = [self.problem.job_operations(j.name) for j in self.problem.jobs]
        ends = [self.vars.ops[ops[-1].key].end for ops in lasts if ops]
        ends += [mv.end for mv in self.vars.maint.values()]
        if ends:
            self.model.add_max_equality(self.vars.makespan, ends)
