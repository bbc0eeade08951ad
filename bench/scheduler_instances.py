"""The seeded risk-aware benchmark instance of issue 9: 50 jobs x 5 operations x 10 machines,
three high-risk machines whose predicted failure falls inside the horizon, a crew of two.

Pure and deterministic: the same seed gives the same problem, so figures compare across runs.
"""

from __future__ import annotations

import math
import random

from scheduler.objective_weights import ObjectiveWeights
from scheduler.problem import Job, Machine, MachineRisk, MaintenanceTask, Operation, Problem
from scheduler.risk import with_risk_maintenance

RISKY = {"M0": (0.8, 300), "M3": (0.7, 420), "M6": (0.6, 540)}  # p_fail, rul_low (minutes)


def risk_bench_problem(
    seed: int = 0,
    jobs: int = 50,
    ops_per_job: int = 5,
    machines: int = 10,
    crew_size: int = 2,
    weights: ObjectiveWeights | None = None,
) -> Problem:
    """Flexible routing (2-3 eligible machines per step), due dates spread over a shift,
    a night shift closed on every machine, two planned services besides the risk-driven ones."""
    rng = random.Random(seed)
    names = [f"M{i}" for i in range(machines)]
    horizon = 2 * 1440
    machine_list = tuple(Machine(n, unavailable=((1320, 1440),)) for n in names)
    job_list, operations = [], []
    for j in range(jobs):
        work = 0
        for s in range(ops_per_job):
            eligible = rng.sample(names, rng.choice((2, 3)))
            base = rng.randint(10, 50)
            options = {m: base + rng.randint(0, 10) for m in eligible}
            operations.append(Operation(f"J{j:02d}", s, options))
            work += base
        release = rng.randint(0, 120)
        due = release + work + rng.randint(200, 1200)
        job_list.append(
            Job(
                f"J{j:02d}",
                release=release,
                due=due,
                weight=rng.choice((1, 2, 3)),
                value=rng.choice((1.0, 2.0, 4.0)),
            )
        )
    risks = tuple(
        MachineRisk(m, p_fail=p, rul_low=rul, window=1440) for m, (p, rul) in RISKY.items()
    )
    planned = (
        MaintenanceTask("service-M8", "M8", duration=60, release=0, deadline=900, cost=50),
        MaintenanceTask("service-M9", "M9", duration=60, release=0, deadline=900, cost=50),
    )
    problem = Problem(
        machines=machine_list,
        jobs=tuple(job_list),
        operations=tuple(operations),
        horizon=horizon,
        maintenance=planned,
        risks=risks,
        crew_size=crew_size,
        weights=weights or ObjectiveWeights(),
    )
    return with_risk_maintenance(problem, duration=120, cost=100.0)


def plant_problem(
    jobs: int = 50,
    ops_per_job: int = 5,
    machines: int = 10,
    seed: int = 0,
    weights: ObjectiveWeights | None = None,
) -> Problem:
    """A generated plant the way issue 15 measured them: 2-3 eligible machines per step, a
    closure every night on every machine, due dates spread over the plan, 10 % risky machines
    (the first ones) whose predicted failure falls inside the horizon and so get maintenance,
    a crew of one per twenty machines (at least two). The horizon is two days or, for big
    plants, about three times the average machine load, at most a week."""
    rng = random.Random(seed)
    names = [f"M{i}" for i in range(machines)]
    job_list, operations, works = [], [], []
    for j in range(jobs):
        work = 0
        for s in range(ops_per_job):
            eligible = rng.sample(names, min(machines, rng.choice((2, 3))))
            base = rng.randint(10, 50)
            operations.append(
                Operation(f"J{j:04d}", s, {m: base + rng.randint(0, 10) for m in eligible})
            )
            work += base
        works.append(work)
    load = sum(works) / machines
    days = min(7, max(2, math.ceil(3 * load / 1200)))
    horizon = days * 1440
    spread = max(1200, int(1.5 * load))
    for j, work in enumerate(works):
        release = rng.randint(0, 120)
        due = release + work + rng.randint(200, spread)
        job_list.append(
            Job(
                f"J{j:04d}",
                release=release,
                due=due,
                weight=rng.choice((1, 2, 3)),
                value=rng.choice((1.0, 2.0, 4.0)),
            )
        )
    closures = tuple((d * 1440 + 1320, d * 1440 + 1440) for d in range(days))
    machine_list = tuple(Machine(n, unavailable=closures) for n in names)
    risky = max(1, machines // 10)
    risks = tuple(
        MachineRisk(names[i], p_fail=0.8 - 0.1 * (i % 3), rul_low=300 + 120 * (i % 4), window=1440)
        for i in range(risky)
    )
    problem = Problem(
        machines=machine_list,
        jobs=tuple(job_list),
        operations=tuple(operations),
        horizon=horizon,
        risks=risks,
        crew_size=max(2, machines // 20),
        frozen_until=60,
        weights=weights or ObjectiveWeights(),
    )
    return with_risk_maintenance(problem, duration=120, cost=100.0)
