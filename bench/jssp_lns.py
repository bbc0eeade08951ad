"""Large-neighbourhood search for the classic job shop, driven from Python on top of CP-SAT.

The incumbent is kept as per-machine orders; each step frees a part of it (a window of
operations consecutive in time, all operations of a few machines, or of a few jobs), keeps the
relative order of every other operation on its machine, and solves that sub-problem briefly with
the incumbent as hint and its makespan as horizon, minimising the makespan and then the sum of
job ends (without the secondary term most steps end on a plateau: abz9 at 20 s, 716 against
695). A sub-solution is accepted when it is no worse, so the makespan never increases. The
neighbourhood size adapts: it grows when sub-problems are solved to optimality and shrinks when
they time out. Every step works on one model built once (`_OneModel`): the kept machine orders
go into a pool of precedence slots rewritten in place, the makespan's bound and the hint are
reset; nothing is rebuilt.

On shops above FULL_MODEL_MAX_OPS `solve_jssp` starts from the best dispatching plan and
alternates, in TABU_ROUNDS rounds, a tabu search on the critical path (`bench.jssp_tabu`, one
search per worker; TABU_SHARE of the limit in all) with the full model, the tabu plan hinted,
under CP-SAT's own neighbourhood workers only (`LARGE_PARAMS`); this module's search polishes
the incumbent only when asked to (`lns_share`). Tune-half shops abz7-9, yn1-4, la27, la29,
la38, la40 at 20 s, 2 workers, load 9-12 on 2 cores: CP-SAT's neighbourhoods alone from the
dispatch hint for the whole limit left yn2 at 8.96 %, the tabu search first 2.3 %; the whole
11 at 2.73 % against the textbook's 6.13 % in the same run (tabu share 0.5, one round); 0.85
and three rounds were a little better again on abz8, yn4 and generated 50x10 shops. Before
the tabu search (CP-SAT's neighbourhoods alone): 5.93 % on the tune half with generated
30x10/50x10 shops against 7.29 % for 75 % full model then this search (textbook 7.86 %);
`use_strong_propagation_in_disjunctive` there made the 500-operation full model find nothing
past its hint (it stays on for small shops, where it proves optima). This search's steps cost
0.6-1 s on 500 operations under load (presolve and loading of the whole model, even mostly
fixed) and few ever prove their sub-problem optimal under the lexicographic objective.
Small shops (ft10 and alike) are left to the full model alone. The tabu search's N7 moves
(issue 15) against its earlier N5 swaps, same runs, la27/29/38/40, abz7-9 and yn1-4 at 20 s,
load 5-8 on 2 cores, seeds 1 and 2: mean gap 1.85 % and 1.44 % against 2.52 % and 2.56 %
(seed 0 on ten of them, two runs: 1.31 % and 1.05 % against 1.36 % and 1.28 %; a tabu share
of 0.95: 1.19 %; five rounds instead of three: no better). One N5 search beside one N7 search
(`neighbourhoods`), same instances and seeds in a later run at load 3-4: 1.33 % and 1.42 %
(two N7 searches 1.74 % and 1.32 % at load 6): not clearly better, so not the default.
"""

from __future__ import annotations

import itertools
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ortools.sat.python import cp_model

from bench.jssp_instances import JsspInstance
from bench.jssp_tabu import parallel_tabu
from scheduler.cpsat.hints import best_dispatch
from scheduler.cpsat.solver import _STATUS, solve
from scheduler.plan import Result, SolveStatus
from scheduler.plan_builder import build_plan

# At or below this many operations the full model alone is used: it proves ft10 (100
# operations) optimal in well under 15 s and reaches the optima of la21/la24/la25 (150) within
# 20 s, where the neighbourhood search proves nothing.
FULL_MODEL_MAX_OPS = 150

# Seconds per sub-problem: at 20 s on abz9 about 50 steps (1 s: 35 steps, 716 instead of 695).
SUB_LIMIT_S = 0.5
# CP-SAT settings of the full model on large shops: both workers run CP-SAT's neighbourhoods
# from the hinted dispatching plan (no full-search worker, which on 200-500 operations rarely
# improves anything within 20 s); see the module docstring for the measurements.
LARGE_PARAMS: dict[str, object] = {"use_lns_only": True}
TABU_SHARE = 0.85
TABU_ROUNDS = 3
TABU_NEIGHBOURHOODS = ("n7",)
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Shop:
    """Operations of positive length, flattened: job, position in the job, machine, duration."""

    job: tuple[int, ...]
    machine: tuple[int, ...]
    duration: tuple[int, ...]
    jobs: tuple[tuple[int, ...], ...]  # operation indices per job, in order
    num_machines: int

    @classmethod
    def of(cls, instance: JsspInstance) -> Shop:
        job: list[int] = []
        machine: list[int] = []
        duration: list[int] = []
        jobs: list[tuple[int, ...]] = []
        for j, ops in enumerate(instance.jobs):
            indices = []
            for m, d in ops:
                if d > 0:
                    indices.append(len(job))
                    job.append(j)
                    machine.append(m)
                    duration.append(d)
            jobs.append(tuple(indices))
        return cls(tuple(job), tuple(machine), tuple(duration), tuple(jobs), instance.num_machines)

    @property
    def size(self) -> int:
        return len(self.job)

    def lower_bound(self) -> int:
        """The longest job or the busiest machine."""
        loads = [0] * self.num_machines
        for m, d in zip(self.machine, self.duration, strict=True):
            loads[m] += d
        longest = max((sum(self.duration[o] for o in ops) for ops in self.jobs), default=0)
        return max([longest, *loads])

    def makespan(self, starts: Sequence[int]) -> int:
        return max((s + d for s, d in zip(starts, self.duration, strict=True)), default=0)

    def sequences(self, starts: Sequence[int]) -> list[list[int]]:
        """Per machine, its operations in start order."""
        per: list[list[int]] = [[] for _ in range(self.num_machines)]
        for o in sorted(range(self.size), key=lambda o: (starts[o], o)):
            per[self.machine[o]].append(o)
        return per

    def violations(self, starts: Sequence[int]) -> list[str]:
        """Why `starts` is not a schedule (empty when it is one)."""
        errors = []
        if len(starts) != self.size:
            return [f"{len(starts)} starts for {self.size} operations"]
        errors += [f"operation {o} starts before 0" for o in range(self.size) if starts[o] < 0]
        for ops in self.jobs:
            for a, b in itertools.pairwise(ops):
                if starts[a] + self.duration[a] > starts[b]:
                    errors.append(f"job {self.job[a]}: operation {b} starts before {a} ends")
        for seq in self.sequences(starts):
            for a, b in itertools.pairwise(seq):
                if starts[a] + self.duration[a] > starts[b]:
                    errors.append(f"machine {self.machine[a]}: operations {a} and {b} overlap")
        return errors


def _model(
    shop: Shop, horizon: int, fixed_chains: Sequence[Sequence[int]], secondary: bool = False
) -> tuple[cp_model.CpModel, list[cp_model.IntVar], cp_model.IntVar]:
    """Job-shop model within `horizon`; each chain is a machine order that must be kept."""
    model = cp_model.CpModel()
    head = [0] * shop.size
    tail = [0] * shop.size
    for ops in shop.jobs:
        t = 0
        for o in ops:
            head[o] = t
            t += shop.duration[o]
        t = 0
        for o in reversed(ops):
            t += shop.duration[o]
            tail[o] = t
    starts = [
        model.new_int_var(head[o], max(head[o], horizon - tail[o]), f"s{o}")
        for o in range(shop.size)
    ]
    per: list[list[cp_model.IntervalVar]] = [[] for _ in range(shop.num_machines)]
    for o in range(shop.size):
        per[shop.machine[o]].append(
            model.new_fixed_size_interval_var(starts[o], shop.duration[o], f"i{o}")
        )
    for ops in shop.jobs:
        for a, b in itertools.pairwise(ops):
            model.add(starts[b] >= starts[a] + shop.duration[a])
    for intervals in per:
        if len(intervals) > 1:
            model.add_no_overlap(intervals)
    for chain in fixed_chains:
        for a, b in itertools.pairwise(chain):
            model.add(starts[b] >= starts[a] + shop.duration[a])
    makespan = model.new_int_var(shop.lower_bound(), max(horizon, shop.lower_bound()), "cmax")
    for ops in shop.jobs:
        if ops:
            model.add(makespan >= starts[ops[-1]] + shop.duration[ops[-1]])
    if secondary:  # makespan first, then the sum of job ends: compact schedules leave slack
        ends = [starts[ops[-1]] + shop.duration[ops[-1]] for ops in shop.jobs if ops]
        model.minimize(makespan * (len(ends) * max(horizon, 1) + 1) + sum(ends))
    else:
        model.minimize(makespan)
    return model, starts, makespan


def _solve(
    shop: Shop,
    incumbent: Sequence[int],
    chains: Sequence[Sequence[int]],
    time_limit_s: float,
    num_workers: int,
    seed: int,
    params: dict[str, object] | None = None,
    secondary: bool = False,
) -> tuple[SolveStatus, list[int] | None, float]:
    """Solve with the incumbent as hint; (status, starts or None, best bound)."""
    model, starts, cmax = _model(shop, shop.makespan(incumbent), chains, secondary)
    for var, value in zip(starts, incumbent, strict=True):
        model.add_hint(var, value)
    model.add_hint(cmax, shop.makespan(incumbent))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.01, time_limit_s)
    solver.parameters.num_workers = num_workers
    solver.parameters.random_seed = seed
    for name, setting in (params or {}).items():
        setattr(solver.parameters, name, setting)
    status = _STATUS.get(solver.solve(model), SolveStatus.UNKNOWN)
    if not status.has_plan:
        return status, None, solver.best_objective_bound
    return status, [solver.value(s) for s in starts], solver.best_objective_bound


def _neighbourhood(
    shop: Shop, starts: Sequence[int], rng: random.Random, fraction: float
) -> set[int]:
    """Operations to free: about `fraction` of them, by time window, machines or jobs."""
    want = max(2, round(fraction * shop.size))
    kind = rng.random()
    if kind < 0.5:  # a window of operations consecutive in time
        order = sorted(range(shop.size), key=lambda o: (starts[o], o))
        first = rng.randrange(max(1, shop.size - want + 1))
        return set(order[first : first + want])
    freed: set[int] = set()
    if kind < 0.75:
        machines = list(range(shop.num_machines))
        rng.shuffle(machines)
        for m in machines:
            if len(freed) >= want:
                break
            freed.update(o for o in range(shop.size) if shop.machine[o] == m)
        return freed
    jobs = list(range(len(shop.jobs)))
    rng.shuffle(jobs)
    for j in jobs:
        if len(freed) >= want:
            break
        freed.update(shop.jobs[j])
    return freed


class _OneModel:
    """The neighbourhood search's single model: the job shop within the first incumbent's
    makespan, makespan then the sum of job ends, and a pool of precedence slots (one per
    operation) that each step rewrites in place with the machine orders it keeps. Per step
    only the slots, the makespan's upper bound and the hint change; nothing is rebuilt."""

    def __init__(self, shop: Shop, incumbent: Sequence[int]) -> None:
        self.shop = shop
        self.model, self.starts, self.makespan = _model(
            shop, shop.makespan(incumbent), [], secondary=True
        )
        proto = self.model.proto
        self.slots = []
        for _ in range(shop.size):
            slot = proto.constraints.add()
            slot.linear.domain.extend([0, 0])  # empty: always true
            self.slots.append(slot)
        self.low = shop.lower_bound()

    def keep(self, chains: Sequence[Sequence[int]], best_cmax: int) -> None:
        """Machine orders to keep this step, and no schedule longer than the incumbent."""
        pairs = [pair for chain in chains for pair in itertools.pairwise(chain)]
        assert len(pairs) <= len(self.slots)
        for k, slot in enumerate(self.slots):
            linear = slot.linear
            linear.vars.clear()
            linear.coeffs.clear()
            linear.domain.clear()
            if k < len(pairs):
                a, b = pairs[k]
                linear.vars.extend([self.starts[b].index, self.starts[a].index])
                linear.coeffs.extend([1, -1])
                linear.domain.extend([self.shop.duration[a], _MAX_GAP])
            else:
                linear.domain.extend([0, 0])
        domain = self.model.proto.variables[self.makespan.index].domain
        domain.clear()
        domain.extend([self.low, max(self.low, best_cmax)])

    def solve(
        self, incumbent: Sequence[int], time_limit_s: float, num_workers: int, seed: int
    ) -> tuple[SolveStatus, list[int] | None]:
        self.model.clear_hints()
        for var, value in zip(self.starts, incumbent, strict=True):
            self.model.add_hint(var, value)
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(0.01, time_limit_s)
        solver.parameters.num_workers = num_workers
        solver.parameters.random_seed = seed
        status = _STATUS.get(solver.solve(self.model), SolveStatus.UNKNOWN)
        if not status.has_plan:
            return status, None
        return status, [solver.value(v) for v in self.starts]


_MAX_GAP = 2**40  # the upper end of "start b >= start a + duration a"


def improve(
    shop: Shop,
    starts: Sequence[int],
    deadline: float,
    num_workers: int = 2,
    seed: int = 0,
    sub_limit_s: float = SUB_LIMIT_S,
    lower_bound: int | None = None,
) -> list[int]:
    """Neighbourhood search from the schedule `starts` until `deadline` (time.perf_counter());
    never returns a longer schedule than the one given. One model for every step."""
    rng = random.Random(seed)
    best = list(starts)
    best_cmax = shop.makespan(best)
    floor = max(lower_bound or 0, shop.lower_bound())
    fraction = 0.2
    step = 0
    one = _OneModel(shop, best) if best_cmax > floor else None
    while one is not None and best_cmax > floor:
        left = deadline - time.perf_counter()
        if left < 0.05:
            break
        freed = _neighbourhood(shop, best, rng, fraction)
        one.keep([[o for o in seq if o not in freed] for seq in shop.sequences(best)], best_cmax)
        status, found = one.solve(best, min(sub_limit_s, left), num_workers, seed + step)
        step += 1
        if found is not None and not shop.violations(found):
            cmax = shop.makespan(found)
            if cmax <= best_cmax:
                if cmax < best_cmax:
                    _log.debug("step %d: %d -> %d (fraction %.2f)", step, best_cmax, cmax, fraction)
                best, best_cmax = found, cmax
        if status is SolveStatus.OPTIMAL:
            fraction = min(0.6, fraction * 1.1)
        else:
            fraction = max(0.05, fraction * 0.93)
    _log.debug("%d steps, makespan %d, fraction %.2f", step, best_cmax, fraction)
    return best


def solve_jssp(
    instance: JsspInstance,
    time_limit_s: float = 30.0,
    num_workers: int = 2,
    hint_budget_s: float | None = None,
    seed: int = 0,
    lns_share: float = 0.0,
    tabu_share: float = TABU_SHARE,
    rounds: int = TABU_ROUNDS,
    neighbourhoods: Sequence[str] = TABU_NEIGHBOURHOODS,
) -> Result:
    """Makespan of a classic job shop: the full model on small shops (`hint_budget_s` of
    dispatching first), otherwise a short dispatching start, then `rounds` rounds of tabu
    search (`tabu_share` of the limit in all) each followed by the full model with CP-SAT's
    neighbourhood workers from the tabu plan, then, for `lns_share` of the limit, this
    module's neighbourhood search (`seed` drives the choices; see the module docstring)."""
    problem = instance.to_problem()
    shop = Shop.of(instance)
    if shop.size <= FULL_MODEL_MAX_OPS:
        return solve(problem, time_limit_s, num_workers, hint_budget_s=hint_budget_s)
    started = time.perf_counter()
    deadline = started + time_limit_s
    placements, _ = best_dispatch(problem, min(0.5, time_limit_s / 20))
    index = {(f"j{shop.job[o]}", shop.jobs[shop.job[o]].index(o)): o for o in range(shop.size)}
    starts = [0] * shop.size
    for key, (_, start) in placements.items():
        starts[index[key]] = start
    first = time.perf_counter() - started
    left = max(0.0, deadline - time.perf_counter())
    if lns_share > 0:  # the end of the limit goes to `improve`
        left *= 1.0 - min(1.0, lns_share)
    search_end = time.perf_counter() + left
    tabu_share = min(1.0, max(0.0, tabu_share))
    bound = 0.0
    status = SolveStatus.UNKNOWN
    for k in range(rounds):
        if tabu_share > 0:
            tabu_s = left * tabu_share / rounds
            starts = parallel_tabu(
                shop, starts, tabu_s, num_workers, seed + 10 * k, int(bound), neighbourhoods
            )
        if k == rounds - 1:
            full_s = max(0.0, search_end - time.perf_counter())
        else:
            full_s = left * (1.0 - tabu_share) / rounds
        status, found, round_bound = _solve(
            shop, starts, [], full_s, num_workers, seed + k, LARGE_PARAMS
        )
        bound = max(bound, round_bound or 0.0)
        if found is not None and shop.makespan(found) <= shop.makespan(starts):
            starts = found
        if status is SolveStatus.OPTIMAL:
            break
    lower = max(shop.lower_bound(), int(bound or 0))
    _log.debug("dispatch %d, full model %s, bound %d", shop.makespan(starts), status, lower)
    if status is not SolveStatus.OPTIMAL and lns_share > 0:
        starts = improve(shop, starts, deadline, num_workers, seed, lower_bound=lower)
    cmax = shop.makespan(starts)
    plan = build_plan(
        problem,
        {key: (f"m{shop.machine[o]}", starts[o]) for key, o in index.items()},
        {},
    )
    return Result(
        SolveStatus.OPTIMAL if cmax <= lower else SolveStatus.FEASIBLE,
        float(cmax),
        float(min(lower, cmax)),
        time.perf_counter() - started,
        plan,
        first_solution_seconds=first,
    )
