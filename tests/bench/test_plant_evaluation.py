"""`millwright eval plant`: every policy on a tiny plant, determinism, exact cost accounting."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from bench import scheduler_cli as cli
from bench.plant.compare import compare
from bench.plant.policies import Reactive, oracle, preventive, tune_interval
from bench.plant.run import POLICIES, Prepared, prepare, run_policy, run_seeds, simulate
from bench.plant.scenario import EvalConfig, Order, generate_orders
from millwright.core.commands import CliGroups
from sim import CmapssSource, EngineRun, MachineSpec, Plant

TINY = EvalConfig(machines=3, days=10, seed=0, model_trees=100)
START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def tiny() -> Prepared:
    """One preparation (split, interval, trained model) shared by the tiny-plant tests."""
    return prepare(TINY)


def _comparable(report: object) -> dict[str, object]:
    figures = report.as_dict()  # type: ignore[attr-defined]
    return {k: v for k, v in figures.items() if k not in ("wall_seconds", "solver_seconds")}


def test_every_policy_runs_on_a_tiny_plant(tiny: Prepared) -> None:
    reports = [run_policy(tiny, name) for name in POLICIES]
    for report in reports:
        assert report.total_cost == pytest.approx(sum(report.costs.values()))
        assert report.throughput > 0 and 0.0 <= report.on_time_rate <= 1.0
        assert report.orders_due > 0
    by_name = {r.policy: r for r in reports}
    assert by_name["reactive"].maintenance_count == 0
    assert by_name["reactive"].unplanned_failures > 0
    assert by_name["predictive"].extra["replans"] >= TINY.days * 24 / TINY.replan_hours
    comparison = compare(reports)
    assert comparison.baseline in ("reactive", "preventive")
    assert comparison.ratio is not None and "| predictive |" in comparison.markdown()


def test_same_seed_same_figures(tiny: Prepared) -> None:
    for name in ("reactive", "predictive"):
        assert _comparable(run_policy(tiny, name)) == _comparable(run_policy(tiny, name))
    assert prepare(TINY, ["preventive"]).interval_cycles == tiny.interval_cycles
    machines = TINY.plant_machines()
    assert generate_orders(TINY, machines) == generate_orders(TINY, machines)
    assert generate_orders(TINY, machines) != generate_orders(replace(TINY, seed=1), machines)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_oracle_never_fails_unplanned(seed: int) -> None:
    prepared = prepare(replace(TINY, seed=seed, days=20), ["oracle"])
    report = run_policy(prepared, "oracle")
    assert report.unplanned_failures == 0 and report.costs["repairs"] == 0
    assert report.maintenance_count > 0 and report.costs["scrap"] == 0


# -- exact accounting on a hand-built plant ---------------------------------------------------


def _one_machine_plant() -> Plant:
    """One machine replaying one 20-cycle (20 h) engine, starting new."""
    values = np.linspace(0.0, 1.0, 20)[:, None] + np.arange(21)[None, :]
    source = CmapssSource([EngineRun(1, values)])
    return Plant([MachineSpec("m-001", "line-1")], source, start=START, seed=0, stagger=False)


def test_one_failure_costs_repair_downtime_scrap_and_lateness() -> None:
    # A 30 h operation starts at 0; the machine fails at 20 h (part scrapped after 20 h of
    # work), is repaired until 44 h, restarts the part, and the 48 h run ends before it is done.
    config = EvalConfig(machines=1, days=2, model_trees=100)
    order = Order("o-1", arrival=0, due=600, ops=({"m-001": 1800},))
    report = simulate(config, _one_machine_plant(), [order], Reactive())
    scrap = 400 + 60 * 20
    downtime = 24 * 150
    late = (2880 - 600) / 60 * 40
    assert report.costs == {
        "tardiness": late,
        "downtime": downtime,
        "repairs": 6000,
        "maintenance": 0,
        "scrap": scrap,
    }
    assert report.total_cost == late + downtime + 6000 + scrap == 12_720
    assert (report.unplanned_failures, report.scrapped_parts, report.maintenance_count) == (1, 1, 0)
    assert (report.throughput, report.orders_due, report.on_time_rate) == (0, 1, 0.0)


def test_preventive_maintenance_costs_and_waiting_work() -> None:
    # Maintenance every 10 cycles: at 10 h, 26 h and 42 h (each 6 h), never a failure; the 5 h
    # order fits before the first one and is delivered on time.
    config = EvalConfig(machines=1, days=2, model_trees=100)
    order = Order("o-1", arrival=0, due=600, ops=({"m-001": 300},))
    report = simulate(config, _one_machine_plant(), [order], preventive(10))
    assert report.maintenance_count == 3 and report.unplanned_failures == 0
    assert report.costs == {
        "tardiness": 0,
        "downtime": 3 * 6 * 150,
        "repairs": 0,
        "maintenance": 3 * 1500,
        "scrap": 0,
    }
    assert report.total_cost == 7200 and report.on_time_rate == 1.0


def test_oracle_on_the_hand_built_plant_maintains_just_before_failure() -> None:
    config = EvalConfig(machines=1, days=2, model_trees=100)
    order = Order("o-1", arrival=0, due=600, ops=({"m-001": 1800},))
    report = simulate(config, _one_machine_plant(), [order], oracle())
    # Lives of 20 h: maintenance at 19 h and 19 + 6 + 19 = 44 h; the 30 h part never fits.
    assert (report.unplanned_failures, report.maintenance_count) == (0, 2)
    assert report.costs["scrap"] == 0 and report.costs["repairs"] == 0


def test_tuned_interval_minimises_the_renewal_cost_rate() -> None:
    # Failures cost 10, maintenance 1, no downtime: maintain just before the shortest life.
    assert tune_interval([10, 20, 30], 10.0, 1.0, 0.0, 0.0) == 9
    # Cheap failures: run every life to the end.
    assert tune_interval([10, 20, 30], 1.0, 1.0, 0.0, 0.0) == 30


# -- the command -----------------------------------------------------------------------------


def _app() -> typer.Typer:
    root, evaluate = typer.Typer(), typer.Typer()
    root.add_typer(evaluate, name="eval")
    cli.register(CliGroups(root=root, bench=typer.Typer(), eval=evaluate))
    return root


def test_cli_json_last_line_has_the_required_keys() -> None:
    args = ["eval", "plant", "--policy", "oracle", "--machines", "3", "--days", "5", "--json"]
    out = CliRunner().invoke(_app(), args)
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"total_cost", "unplanned_failures", "maintenance_count", "on_time_rate"} <= set(payload)
    assert payload["policy"] == "oracle" and payload["unplanned_failures"] == 0


def test_cli_rejects_an_unknown_policy() -> None:
    out = CliRunner().invoke(_app(), ["eval", "plant", "--policy", "lucky"])
    assert out.exit_code == 2 and "must be one of" in out.output


def test_seeds_in_parallel_processes_give_the_figures_of_one_process() -> None:
    config = replace(TINY, days=5)
    policies = ["reactive", "oracle"]
    alone = run_seeds(config, policies, [0, 1, 2])
    seen: list[tuple[str, int]] = []
    together = run_seeds(config, policies, [0, 1, 2], lambda r: seen.append((r.policy, r.seed)), 2)
    assert [_comparable(r) for r in together] == [_comparable(r) for r in alone]
    assert [(r.policy, r.seed) for r in together] == [(p, s) for s in (0, 1, 2) for p in policies]
    assert sorted(seen) == sorted((p, s) for s in (0, 1, 2) for p in policies)
    with pytest.raises(ValueError, match="jobs"):
        run_seeds(config, policies, [0], jobs=0)
