"""OR-Library reader, known optima, the textbook baseline, the dispatching rules and the CLI."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bench import scheduler_cli as cli
from bench.jssp_instances import parse_jssp
from bench.jssp_textbook import solve_textbook
from bench.scheduler_instances import risk_bench_problem
from millwright.core.commands import CliGroups
from scheduler.cpsat import solve
from scheduler.dispatch import dispatch_plan
from scheduler.plan import SolveStatus


def test_ft06_is_solved_to_its_known_optimum(jssp_dir: Path) -> None:
    instance = parse_jssp((jssp_dir / "ft06.txt").read_text(), "ft06")
    assert len(instance.jobs) == 6 and instance.num_machines == 6
    result = solve(instance.to_problem(), 10)
    assert result.status is SolveStatus.OPTIMAL and result.objective == 55
    assert result.plan is not None and result.plan.makespan == 55
    assert solve_textbook(instance, 10).objective == 55


def test_reader_names_the_bad_line() -> None:
    with pytest.raises(ValueError, match="line 2 has 3 numbers, expected 4"):
        parse_jssp("1 2\n0 5 1\n", "bad")
    with pytest.raises(ValueError, match="unknown machine 7"):
        parse_jssp("1 2\n0 5 7 1\n", "bad")


def test_dispatch_plans_respect_precedence_and_capacity() -> None:
    problem = risk_bench_problem(seed=1, jobs=8, ops_per_job=3, machines=10)
    for rule in ("edd", "mwkr", "spt"):
        plan = dispatch_plan(problem, rule)
        for job in problem.jobs:
            ops = [plan.operation(job.name, s) for s in range(3)]
            assert all(a.end <= b.start for a, b in itertools.pairwise(ops))
            assert ops[0].start >= job.release
        for machine in problem.machines:
            items = plan.machine_schedule(machine.name)
            assert all(a.end <= b.start for a, b in itertools.pairwise(items))


def _app() -> typer.Typer:
    root, bench = typer.Typer(), typer.Typer()
    root.add_typer(bench, name="bench")
    cli.register(CliGroups(root=root, bench=bench, eval=typer.Typer()))
    return root


def test_cli_schedule_jssp_json_last_line(jssp_dir: Path) -> None:
    out = CliRunner().invoke(
        _app(), ["schedule", "jssp", str(jssp_dir / "ft06.txt"), "--time-limit", "5", "--json"]
    )
    assert out.exit_code == 0, out.output
    payload = json.loads(out.output.strip().splitlines()[-1])
    assert payload["makespan"] == 55 and payload["status"] == "optimal"
    assert payload["gap_pct"] == 0 and payload["seconds"] < 5


def test_small_risk_instance_beats_the_risk_blind_edd_rule() -> None:
    problem = risk_bench_problem(seed=2, jobs=10, ops_per_job=3, machines=10)
    result = solve(problem, 3)
    assert result.plan is not None and result.status.has_plan
    edd = dispatch_plan(problem, "edd")
    assert result.plan.costs["total"] < edd.costs["total"]
    assert result.first_solution_seconds is not None and result.first_solution_seconds < 2
