"""Neighbourhood search for the classic job shop: never worse than its start, always a schedule."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bench.jssp_instances import parse_jssp
from bench.jssp_lns import FULL_MODEL_MAX_OPS, Shop, improve, solve_jssp
from scheduler.cpsat.hints import best_dispatch
from scheduler.plan import SolveStatus


def _dispatch_starts(shop: Shop, instance) -> list[int]:  # type: ignore[no-untyped-def]
    placements, _ = best_dispatch(instance.to_problem(), 0.05)
    starts = [0] * shop.size
    for (job, seq), (_, start) in placements.items():
        starts[shop.jobs[int(job[1:])][seq]] = start
    return starts


def test_validator_finds_overlaps_and_broken_precedence() -> None:
    shop = Shop.of(parse_jssp("2 2\n0 3 1 2\n0 2 1 4\n", "tiny"))
    assert shop.violations([0, 3, 3, 5]) == []
    assert shop.makespan([0, 3, 3, 5]) == 9
    assert any("overlap" in e for e in shop.violations([0, 3, 1, 5]))
    assert any("before" in e for e in shop.violations([0, 2, 3, 6]))


def test_improve_never_worsens_and_returns_a_schedule(jssp_dir: Path) -> None:
    instance = parse_jssp((jssp_dir / "la21.txt").read_text(), "la21")
    shop = Shop.of(instance)
    start = _dispatch_starts(shop, instance)
    assert shop.violations(start) == []
    result = improve(shop, start, time.perf_counter() + 2.0, seed=3, sub_limit_s=0.3)
    assert shop.violations(result) == []
    assert shop.makespan(result) <= shop.makespan(start)


def test_improve_builds_its_model_once(jssp_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every step rewrites the same model (precedence slots, makespan bound, hint)."""
    import bench.jssp_lns as lns

    built: list[int] = []
    real = lns._model

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(lns, "_model", counted)
    steps: list[int] = []
    solve = lns._OneModel.solve

    def counted_solve(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        steps.append(1)
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(lns._OneModel, "solve", counted_solve)
    instance = parse_jssp((jssp_dir / "la21.txt").read_text(), "la21")
    shop = Shop.of(instance)
    start = _dispatch_starts(shop, instance)
    result = improve(shop, start, time.perf_counter() + 2.0, seed=3, sub_limit_s=0.2)
    assert len(steps) > 1 and len(built) == 1
    assert shop.violations(result) == [] and shop.makespan(result) <= shop.makespan(start)


def test_solve_jssp_plans_a_large_shop_within_the_limit(jssp_dir: Path) -> None:
    instance = parse_jssp((jssp_dir / "la27.txt").read_text(), "la27")
    assert Shop.of(instance).size > FULL_MODEL_MAX_OPS
    result = solve_jssp(instance, 3.0)
    assert result.status is SolveStatus.FEASIBLE and result.plan is not None
    assert result.objective == result.plan.makespan >= 1235
    assert result.bound is not None and result.bound <= 1235
    assert result.runtime < 4.5


def test_small_shops_keep_the_full_model(jssp_dir: Path) -> None:
    instance = parse_jssp((jssp_dir / "ft06.txt").read_text(), "ft06")
    result = solve_jssp(instance, 10.0)
    assert result.status is SolveStatus.OPTIMAL and result.objective == 55


def test_large_shop_polishes_with_the_neighbourhood_search_when_asked(
    jssp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`lns_share` hands the end of the limit to `improve`; the plan stays a valid schedule no
    longer than the dispatching start."""
    import bench.jssp_lns as lns

    calls: list[int] = []
    real = lns.improve

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(lns, "improve", counted)
    instance = parse_jssp((jssp_dir / "la27.txt").read_text(), "la27")
    shop = Shop.of(instance)
    start = shop.makespan(_dispatch_starts(shop, instance))
    result = solve_jssp(instance, 3.0, lns_share=0.5)
    assert calls == [1]
    assert result.plan is not None and result.objective is not None
    starts = [0] * shop.size
    for p in result.plan.operations:
        starts[shop.jobs[int(p.job[1:])][p.seq]] = p.start
    assert shop.violations(starts) == []
    assert result.objective == shop.makespan(starts) <= start
    calls.clear()
    solve_jssp(instance, 2.0)
    assert calls == []  # by default CP-SAT's own neighbourhoods get the whole limit
