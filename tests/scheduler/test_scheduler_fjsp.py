"""The `.fjs` entry point: parsing (with errors for people), the product's model on shipped
instances (known optima), and the command's last JSON line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bench.fjsp import half_of, load_fjs, load_index, parse_fjs, solve_fjsp
from millwright.app.cli import app

FJSP_DIR = Path(__file__).resolve().parents[2] / "bench" / "data" / "fjsp"


def test_parse_reads_machines_one_based_and_every_option() -> None:
    instance = parse_fjs("2 2 1.5\n2 2 1 25 2 37 1 1 32\n1 1 2 45\n", "tiny")
    assert instance.num_machines == 2
    assert instance.jobs == (({0: 25, 1: 37}, {0: 32}), ({1: 45},))
    problem = instance.to_problem()
    assert [op.options for op in problem.job_operations("j0")] == [{"m0": 25, "m1": 37}, {"m0": 32}]


def test_zero_time_operations_are_dropped_and_the_optimum_kept() -> None:
    # j0: 4 on m0, then an operation that may take no time, then 3 on m1; j1: 5 on m1.
    instance = parse_fjs("2 2\n3 1 1 4 2 1 0 2 6 1 2 3\n1 1 2 5\n", "zero")
    assert instance.jobs == (({0: 4}, {1: 3}), ({1: 5},))
    result = solve_fjsp(instance, time_limit_s=5.0, num_workers=1)
    assert result.objective == 8  # j1 on m1 in 0-5 then j0's last step 5-8, or j0 4-7 first


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "first line"),
        ("2 2\n1 1 1 5\n", "2 jobs announced, 1 job lines"),
        ("1 2\n1 1 3 5\n", "machine 3 must be in 1..2"),
        ("1 2\n2 1 1 5\n", "ends inside an operation"),
        ("1 2\n1 1 1 5 9\n", "1 values left"),
    ],
)
def test_bad_files_are_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_fjs(text, "bad")


def test_shipped_small_instances_reach_their_optimum() -> None:
    index = {row["name"]: row for row in load_index(FJSP_DIR)}
    for name in ("sfjs01", "k1"):
        result = solve_fjsp(load_fjs(FJSP_DIR / index[name]["path"]), 5.0)
        assert result.objective == index[name]["optimum"]


def test_halves_split_by_family() -> None:
    rows = load_index(FJSP_DIR)
    tune, held = half_of(rows, "tune"), half_of(rows, "held-out")
    assert {r["family"] for r in tune} == {"fattahi", "kacem"} and held == []
    with pytest.raises(ValueError, match="unknown half"):
        half_of(rows, "both")


def test_schedule_fjsp_prints_makespan_status_and_bound_last() -> None:
    result = CliRunner().invoke(
        app, ["schedule", "fjsp", str(FJSP_DIR / "sfjs01.fjs"), "--time-limit", "5", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output.strip().splitlines()[-1])
    assert (payload["makespan"], payload["status"], payload["bound"]) == (66, "optimal", 66)


def test_a_sample_of_a_half_is_spread_evenly_and_the_same_every_run() -> None:
    from bench.fjsp import spread

    items = list(range(10))
    assert spread(items, 4) == [0, 3, 6, 9] == spread(items, 4)
    assert spread(items, 1) == [0] and spread(items, None) == items and spread(items, 20) == items
