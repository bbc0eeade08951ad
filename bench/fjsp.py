"""Flexible job shop (`.fjs`) instances, the product's model on them, and PyJobShop's CP-SAT
model beside it (an edge: reads files, times runs; the model stays pure).

Format (Brandimarte / Hurink / SchedulingLab's FJSPLIB): a first line `jobs machines avg`,
then one line per job: the number of operations, then per operation the number k of eligible
machines and k pairs `machine duration`, machines numbered from 1.

The instance families are split in two halves (`TUNE` and `HELD_OUT`): settings are chosen on
the first and figures reported on the second, so a figure never comes from what it was tuned
on.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench.jssp_instances import MAKESPAN_ONLY
from scheduler.cpsat import solve
from scheduler.plan import Result
from scheduler.problem import Job, Machine, Operation, Problem

TUNE = ("barnes", "fattahi", "hurink/rdata", "kacem")
HELD_OUT = ("dauzere", "hurink/edata", "hurink/vdata")

T = TypeVar("T")


@dataclass(frozen=True)
class FjspInstance:
    """Jobs as tuples of operations, each a dict machine index (0-based) -> duration."""

    name: str
    jobs: tuple[tuple[dict[int, int], ...], ...]
    num_machines: int

    def to_problem(self) -> Problem:
        """Makespan alone, machines `m0..`, jobs `j0..`, horizon the sum of longest options."""
        horizon = sum(max(op.values()) for ops in self.jobs for op in ops)
        return Problem(
            machines=tuple(Machine(f"m{i}") for i in range(self.num_machines)),
            jobs=tuple(Job(f"j{j}") for j in range(len(self.jobs))),
            operations=tuple(
                Operation(f"j{j}", s, {f"m{m}": d for m, d in op.items()})
                for j, ops in enumerate(self.jobs)
                for s, op in enumerate(ops)
            ),
            horizon=max(1, horizon),
            weights=MAKESPAN_ONLY,
        )


def parse_fjs(text: str, name: str) -> FjspInstance:
    """Parse the `.fjs` format; a ValueError names the line and what was expected."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or len(lines[0]) < 2:
        raise ValueError(f"{name}: the first line must be 'jobs machines [average]'")
    try:
        num_jobs, num_machines = int(lines[0][0]), int(lines[0][1])
    except ValueError:
        raise ValueError(f"{name}: the first line must start with two integers") from None
    if len(lines) - 1 < num_jobs:
        raise ValueError(f"{name}: {num_jobs} jobs announced, {len(lines) - 1} job lines found")
    jobs = []
    for j, tokens in enumerate(lines[1 : num_jobs + 1], start=2):
        try:
            values = [int(t) for t in tokens]
        except ValueError:
            raise ValueError(f"{name}, line {j}: expected integers only") from None
        ops, i = [], 1
        for _ in range(values[0] if values else 0):
            if i >= len(values):
                raise ValueError(f"{name}, line {j}: the line ends inside an operation")
            k = values[i]
            pairs = values[i + 1 : i + 1 + 2 * k]
            if k < 1 or len(pairs) != 2 * k:
                raise ValueError(f"{name}, line {j}: an operation needs k >= 1 machine pairs")
            options: dict[int, int] = {}
            for m, d in zip(pairs[::2], pairs[1::2], strict=True):
                if not 1 <= m <= num_machines or d < 0:
                    raise ValueError(
                        f"{name}, line {j}: machine {m} must be in 1..{num_machines} and "
                        f"duration {d} >= 0"
                    )
                options[m - 1] = min(d, options.get(m - 1, d))
            # An operation that may take no time (some instances, e.g. Hurink's orb7, have
            # them) never delays its successor nor holds a machine on that option, which an
            # optimal plan picks: dropping it leaves every makespan as it was.
            if min(options.values()) > 0:
                ops.append(options)
            i += 1 + 2 * k
        if i != len(values):
            raise ValueError(f"{name}, line {j}: {len(values) - i} values left after the job")
        if ops:  # a job of zero-time operations only adds nothing to any plan
            jobs.append(tuple(ops))
    return FjspInstance(name, tuple(jobs), num_machines)


def load_fjs(path: Path) -> FjspInstance:
    return parse_fjs(path.read_text(), path.stem)


def solve_fjsp(instance: FjspInstance, time_limit_s: float, num_workers: int = 2) -> Result:
    """Makespan by the product's model and solve (dispatch start, LNS on large shops)."""
    return solve(instance.to_problem(), time_limit_s, num_workers)


def solve_pyjobshop(
    instance: FjspInstance, time_limit_s: float, num_workers: int = 2
) -> dict[str, Any]:
    """Makespan by PyJobShop's CP-SAT model (its defaults), same limit and workers."""
    from pyjobshop import Model

    started = time.perf_counter()
    model = Model()
    machines = [model.add_machine(name=f"m{i}") for i in range(instance.num_machines)]
    for j, ops in enumerate(instance.jobs):
        job = model.add_job(name=f"j{j}")
        tasks = [model.add_task(job, name=f"j{j}/{s}") for s in range(len(ops))]
        for task, op in zip(tasks, ops, strict=True):
            for m, d in op.items():
                model.add_mode(task, machines[m], d)
        for before, after in itertools.pairwise(tasks):
            model.add_end_before_start(before, after)
    result = model.solve("ortools", time_limit=time_limit_s, display=False, num_workers=num_workers)
    status = str(getattr(result.status, "value", result.status)).lower()
    feasible = status in ("optimal", "feasible")
    return {
        "makespan": round(result.objective) if feasible else None,
        "bound": round(result.lower_bound) if result.lower_bound is not None else None,
        "status": status,
        "seconds": round(time.perf_counter() - started, 3),
    }


def load_index(directory: Path) -> list[dict[str, Any]]:
    """instances.json: name, family, path (relative to `directory`), optimum or bounds."""
    rows: list[dict[str, Any]] = json.loads((directory / "instances.json").read_text())
    for row in rows:
        row.setdefault("family", "/".join(row["path"].split("/")[:-1]))
    return rows


def reference(row: dict[str, Any]) -> int | None:
    """The optimum, or the best known upper bound of an open instance."""
    if row.get("optimum") is not None:
        return int(row["optimum"])
    upper = (row.get("bounds") or {}).get("upper")
    return None if upper is None else int(upper)


def gap(makespan: float | None, best: int | None) -> float | None:
    if makespan is None or not best:
        return None
    return round(100.0 * (makespan - best) / best, 3)


def half_of(rows: Iterable[dict[str, Any]], half: str) -> list[dict[str, Any]]:
    """The instances of one half: `tune` or `held-out` (by family); `all` for every one."""
    if half == "all":
        return list(rows)
    families = {"tune": TUNE, "held-out": HELD_OUT}.get(half)
    if families is None:
        raise ValueError(f"unknown half {half!r}; expected tune, held-out or all")
    return [r for r in rows if r["family"] in families]


def spread(items: Sequence[T], n: int | None) -> list[T]:
    """`n` items evenly spaced over `items` (first and last included), in order: a subset of a
    half that still covers its families and sizes, the same one every run; all when n is None."""
    if n is None or n >= len(items):
        return list(items)
    if n == 1:
        return [items[0]]
    return [items[round(i * (len(items) - 1) / (n - 1))] for i in range(n)]


def fjsp_compare(
    directory: Path,
    rows: list[dict[str, Any]],
    time_limit_s: float,
    num_workers: int = 2,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """One row per instance: ours and PyJobShop's makespan and gap, same limit and workers."""
    out = []
    for row in rows:
        instance = load_fjs(directory / row["path"])
        best = reference(row)
        ours = solve_fjsp(instance, time_limit_s, num_workers)
        theirs = solve_pyjobshop(instance, time_limit_s, num_workers)
        line = {
            "instance": row["name"],
            "family": row["family"],
            "best_known": best,
            "ours": ours.objective,
            "ours_status": ours.status.value,
            "ours_gap": gap(ours.objective, best),
            "pyjobshop": theirs["makespan"],
            "pyjobshop_status": theirs["status"],
            "pyjobshop_gap": gap(theirs["makespan"], best),
        }
        out.append(line)
        if progress:
            progress(line)
    return out
