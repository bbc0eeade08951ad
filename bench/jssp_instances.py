"""Classic job-shop instances in the OR-Library format, as `Problem`s.

Format: an optional comment block, then a line "jobs machines", then one line per job of
(machine, duration) pairs in processing order. Parsing is pure; reading files is the CLI's job.
The objective is makespan alone, so results compare with published bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

from scheduler.objective_weights import ObjectiveWeights
from scheduler.problem import Job, Machine, Operation, Problem

MAKESPAN_ONLY = ObjectiveWeights(
    tardiness=0,
    maintenance=0,
    expected_failure=0,
    makespan=1,
    maintenance_late=0,
    change=0,
    change_machine=0,
    scale=1,
)


@dataclass(frozen=True)
class JsspInstance:
    """Jobs as lists of (machine index, duration) in order."""

    name: str
    jobs: tuple[tuple[tuple[int, int], ...], ...]
    num_machines: int

    def __post_init__(self) -> None:
        if not self.jobs:
            raise ValueError(f"instance {self.name} has no jobs")
        for j, ops in enumerate(self.jobs):
            for machine, duration in ops:
                if not 0 <= machine < self.num_machines:
                    raise ValueError(
                        f"instance {self.name}: job {j} uses unknown machine {machine}"
                    )
                if duration < 0:
                    raise ValueError(f"instance {self.name}: job {j} has a negative duration")

    def to_problem(self) -> Problem:
        """The instance as a `Problem` minimising makespan; zero-length steps are dropped."""
        horizon = sum(d for ops in self.jobs for _, d in ops)
        operations = []
        for j, ops in enumerate(self.jobs):
            kept = [(m, d) for m, d in ops if d > 0]
            operations += [Operation(f"j{j}", s, {f"m{m}": d}) for s, (m, d) in enumerate(kept)]
        return Problem(
            machines=tuple(Machine(f"m{m}") for m in range(self.num_machines)),
            jobs=tuple(Job(f"j{j}") for j in range(len(self.jobs))),
            operations=tuple(operations),
            horizon=max(horizon, 1),
            weights=MAKESPAN_ONLY,
        )


def parse_jssp(text: str, name: str = "instance") -> JsspInstance:
    """Parse OR-Library text; raises ValueError naming the line that is wrong."""
    rows = [line.split() for line in text.splitlines()]
    numeric = [(i, row) for i, row in enumerate(rows, 1) if row and all(_is_int(t) for t in row)]
    if not numeric:
        raise ValueError(f"{name}: no 'jobs machines' header line found")
    (header_line, header), body = numeric[0], numeric[1:]
    if len(header) != 2:
        raise ValueError(f"{name}: line {header_line} should be 'jobs machines'")
    n_jobs, n_machines = int(header[0]), int(header[1])
    if len(body) < n_jobs:
        raise ValueError(f"{name}: expected {n_jobs} job lines, found {len(body)}")
    jobs = []
    for line_no, row in body[:n_jobs]:
        values = [int(t) for t in row]
        if len(values) != 2 * n_machines:
            raise ValueError(
                f"{name}: line {line_no} has {len(values)} numbers, expected {2 * n_machines}"
            )
        jobs.append(tuple(zip(values[::2], values[1::2], strict=True)))
    return JsspInstance(name, tuple(jobs), n_machines)


def _is_int(token: str) -> bool:
    return token.lstrip("-").isdigit()
