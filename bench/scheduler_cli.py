"""`millwright` commands of the scheduler benchmarks (the `bench` extra).

- `millwright schedule jssp FILE [--time-limit S] [--json]`: solve an OR-Library job shop.
- `millwright bench jssp [NAMES...]`: textbook CP-SAT model vs ours at the same limit.
- `millwright bench scheduler [--json]`: the risk-aware instance vs a risk-blind EDD rule.

With `--json` the last stdout line is one JSON object, for scripts and CI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from millwright.core.commands import CliGroups, app_context
from scheduler.config import SchedulerConfig

DEFAULT_JSSP_DIR = Path(__file__).resolve().parent / "data" / "jssp"


def _config(ctx: typer.Context) -> SchedulerConfig:
    """The scheduler settings; defaults when the command runs outside the root app."""
    try:
        return app_context(ctx).section("scheduler", SchedulerConfig)
    except RuntimeError:
        return SchedulerConfig()


def _emit(payload: dict[str, Any], as_json: bool, human: str) -> None:
    typer.echo(json.dumps(payload, sort_keys=True) if as_json else human)


def schedule_jssp(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="OR-Library instance."),
    time_limit: float | None = typer.Option(None, "--time-limit", min=0.01, help="Seconds."),
    as_json: bool = typer.Option(False, "--json", help="Last line is one JSON object."),
) -> None:
    """Solve a classic job-shop instance with the project's model."""
    from bench.jssp import gap, jssp_hint_budget, load_bounds, load_instance
    from bench.jssp_lns import solve_jssp

    config = _config(ctx)
    try:
        instance = load_instance(file)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    limit = time_limit if time_limit is not None else config.time_limit_s
    result = solve_jssp(instance, limit, config.num_workers, hint_budget_s=jssp_hint_budget(limit))
    payload: dict[str, Any] = {
        "instance": instance.name,
        "makespan": None if result.objective is None else round(result.objective),
        "status": result.status.value,
        "seconds": round(result.runtime, 3),
        "bound": None if result.bound is None else round(result.bound),
    }
    known = load_bounds(file.parent).get(instance.name)
    if known:
        payload["best_known"] = known.get("upper_bound")
        payload["gap_pct"] = gap(result.objective, known.get("upper_bound"))
    _emit(
        payload,
        as_json,
        f"{instance.name}: makespan {payload['makespan']} ({result.status.value}), "
        f"bound {payload['bound']}, {result.runtime:.2f} s",
    )
    if not result.status.has_plan:
        raise typer.Exit(1)


def bench_jssp(
    ctx: typer.Context,
    names: list[str] = typer.Argument(None, help="Instance names; default a hard subset."),
    directory: Path = typer.Option(DEFAULT_JSSP_DIR, "--dir", file_okay=False),
    time_limit: float = typer.Option(20.0, "--time-limit", min=0.01),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Textbook CP-SAT job-shop model vs ours, same limit, gap to the best known bound."""
    from bench.jssp import HARD_SUBSET, jssp_compare

    config = _config(ctx)

    def show(row: dict[str, Any]) -> None:
        typer.echo(
            f"{row['instance']:>6}  best {row['best_known']}  textbook {row['textbook']} "
            f"({_pct(row['textbook_gap'])})  ours {row['ours']} ({_pct(row['ours_gap'])})",
            err=as_json,
        )

    rows = jssp_compare(directory, names or HARD_SUBSET, time_limit, config.num_workers, show)
    summary: dict[str, Any] = {
        "instances": len(rows),
        "time_limit_s": time_limit,
        "textbook_mean_gap_pct": _mean(r["textbook_gap"] for r in rows),
        "ours_mean_gap_pct": _mean(r["ours_gap"] for r in rows),
        "rows": rows,
    }
    _emit(
        summary,
        as_json,
        f"mean gap: textbook {_pct(summary['textbook_mean_gap_pct'])}, "
        f"ours {_pct(summary['ours_mean_gap_pct'])} ({len(rows)} instances, {time_limit} s)",
    )


def bench_scheduler(
    ctx: typer.Context,
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.01),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Risk-aware 50x5x10 instance: first plan time, objective at the limit, vs EDD."""
    from bench.jssp import risk_bench

    figures = risk_bench(time_limit, _config(ctx).num_workers)
    _emit(
        figures,
        as_json,
        f"first plan {figures['first_feasible_seconds']:.2f} s; objective "
        f"{figures['objective']:.1f} at {figures['seconds']:.1f} s ({figures['status']}, bound "
        f"{figures['bound']:.1f}); risk-blind EDD {figures['edd_objective']:.1f} "
        f"({figures['improvement_pct']:.1f} % better); expected failure cost "
        f"{figures['costs']['expected_failure']:.1f} vs EDD "
        f"{figures['edd_costs']['expected_failure']:.1f}",
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} %"


def _mean(values: Any) -> float | None:
    found = [v for v in values if v is not None]
    return sum(found) / len(found) if found else None


def register(groups: CliGroups) -> None:
    """Add `schedule jssp`, `bench jssp`, `bench scheduler` and `eval plant` to the CLI."""
    groups.schedule.command("jssp")(schedule_jssp)
    groups.bench.command("jssp")(bench_jssp)
    groups.bench.command("scheduler")(bench_scheduler)
    from bench.plant.cli import eval_plant

    groups.eval.command("plant")(eval_plant)
