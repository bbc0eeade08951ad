"""`millwright` commands of the scheduler benchmarks (the `bench` extra).

- `millwright schedule jssp FILE [--time-limit S] [--json]`: solve an OR-Library job shop.
- `millwright schedule fjsp FILE [--time-limit S] [--workers N] [--json]`: solve a `.fjs`
  flexible job shop.
- `millwright bench jssp [NAMES...]`: textbook CP-SAT model vs ours at the same limit.
- `millwright bench fjsp [--half held-out]`: PyJobShop's CP-SAT model vs ours, same limit.
- `millwright bench scheduler [--jobs J --ops O --machines M --disruption D] [--json]`: a
  generated risk-aware plant vs the EDD rule, optionally replanned after a disruption.

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
DEFAULT_FJSP_DIR = Path(__file__).resolve().parent / "data" / "fjsp"


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


def schedule_fjsp(
    ctx: typer.Context,
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="A .fjs instance."),
    time_limit: float | None = typer.Option(None, "--time-limit", min=0.01, help="Seconds."),
    workers: int | None = typer.Option(None, "--workers", min=1, help="CP-SAT workers."),
    as_json: bool = typer.Option(False, "--json", help="Last line is one JSON object."),
) -> None:
    """Solve a flexible job-shop instance (.fjs) with the project's model."""
    from bench.fjsp import load_fjs, solve_fjsp

    config = _config(ctx)
    try:
        instance = load_fjs(file)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    limit = time_limit if time_limit is not None else config.time_limit_s
    result = solve_fjsp(instance, limit, workers or config.num_workers)
    payload: dict[str, Any] = {
        "instance": instance.name,
        "makespan": None if result.objective is None else round(result.objective),
        "status": result.status.value,
        "seconds": round(result.runtime, 3),
        "bound": None if result.bound is None else round(result.bound),
    }
    _emit(
        payload,
        as_json,
        f"{instance.name}: makespan {payload['makespan']} ({result.status.value}), "
        f"bound {payload['bound']}, {result.runtime:.2f} s",
    )
    if not result.status.has_plan:
        raise typer.Exit(1)


def bench_fjsp(
    ctx: typer.Context,
    directory: Path = typer.Option(DEFAULT_FJSP_DIR, "--dir", file_okay=False),
    half: str = typer.Option(
        "held-out", "--half", help="tune, held-out (families not tuned on) or all."
    ),
    time_limit: float = typer.Option(20.0, "--time-limit", min=0.01),
    max_jobs: int | None = typer.Option(None, "--max-jobs", min=1, help="Skip larger ones."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many."),
    sample: int | None = typer.Option(
        None, "--sample", min=1, help="This many, evenly spread over the half (deterministic)."
    ),
    workers: int | None = typer.Option(None, "--workers", min=1),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """PyJobShop's CP-SAT model vs ours on one half of the instance families."""
    from bench.fjsp import fjsp_compare, half_of, load_index, spread

    try:
        rows = half_of(load_index(directory), half)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    rows = spread([r for r in rows if max_jobs is None or r["jobs"] <= max_jobs], sample)[:limit]

    def show(row: dict[str, Any]) -> None:
        typer.echo(
            f"{row['instance']:>10}  best {row['best_known']}  pyjobshop {row['pyjobshop']} "
            f"({_pct(row['pyjobshop_gap'])})  ours {row['ours']} ({_pct(row['ours_gap'])})",
            err=as_json,
        )

    found = fjsp_compare(directory, rows, time_limit, workers or _config(ctx).num_workers, show)
    summary: dict[str, Any] = {
        "half": half,
        "instances": len(found),
        "time_limit_s": time_limit,
        "workers": workers or _config(ctx).num_workers,
        "pyjobshop_mean_gap_pct": _mean(r["pyjobshop_gap"] for r in found),
        "ours_mean_gap_pct": _mean(r["ours_gap"] for r in found),
        "rows": found,
    }
    _emit(
        summary,
        as_json,
        f"mean gap: pyjobshop {_pct(summary['pyjobshop_mean_gap_pct'])}, ours "
        f"{_pct(summary['ours_mean_gap_pct'])} ({len(found)} {half} instances, {time_limit} s)",
    )


def bench_jssp(
    ctx: typer.Context,
    names: list[str] = typer.Argument(None, help="Instance names; default a hard subset."),
    directory: Path = typer.Option(DEFAULT_JSSP_DIR, "--dir", file_okay=False),
    time_limit: float = typer.Option(20.0, "--time-limit", min=0.01),
    half: str | None = typer.Option(
        None, "--half", help="tune or held-out: every instance of that half's families."
    ),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many."),
    sample: int | None = typer.Option(
        None, "--sample", min=1, help="This many, evenly spread over the list (deterministic)."
    ),
    workers: int | None = typer.Option(None, "--workers", min=1),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Textbook CP-SAT job-shop model vs ours, same limit, gap to the best known bound."""
    from bench.fjsp import spread
    from bench.jssp import HARD_SUBSET, jssp_compare, jssp_half

    config = _config(ctx)
    if half is not None:
        try:
            names = jssp_half(directory, half)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    names = spread(list(names or HARD_SUBSET), sample)[:limit]

    def show(row: dict[str, Any]) -> None:
        typer.echo(
            f"{row['instance']:>6}  best {row['best_known']}  textbook {row['textbook']} "
            f"({_pct(row['textbook_gap'])})  ours {row['ours']} ({_pct(row['ours_gap'])})",
            err=as_json,
        )

    rows = jssp_compare(directory, names, time_limit, workers or config.num_workers, show)
    summary: dict[str, Any] = {
        "half": half,
        "instances": len(rows),
        "time_limit_s": time_limit,
        "workers": workers or config.num_workers,
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
    jobs: int = typer.Option(50, "--jobs", min=1),
    ops: int = typer.Option(5, "--ops", min=1, help="Operations per job."),
    machines: int = typer.Option(10, "--machines", min=2),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.01),
    seed: int = typer.Option(0, "--seed"),
    disruption: str | None = typer.Option(
        None, "--disruption", help="breakdown, offline, overdue or rush: replan after it."
    ),
    scope: str = typer.Option(
        "affected",
        "--scope",
        help="What the replan may move: affected work, then more at the stability term's price"
        " (affected); affected work only (pinned); any work (plant).",
    ),
    stability_weight: float | None = typer.Option(
        None, "--stability-weight", min=0, help="Per moved urgent operation (weight_moved)."
    ),
    max_loss: str | None = typer.Option(
        None,
        "--max-loss",
        help="How much worse in production (a share, e.g. 0.1) the stable replan may be before"
        " re-dispatching takes over, or 'none' (never); default: [scheduler] replan_max_loss.",
    ),
    workers: int | None = typer.Option(None, "--workers", min=1),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """A generated risk-aware plant: first plan, objective at the limit, vs the EDD rule."""
    from bench.scheduler_bench import DISRUPTIONS, plant_bench

    if disruption is not None and disruption not in DISRUPTIONS:
        typer.echo(f"error: --disruption must be one of {', '.join(DISRUPTIONS)}", err=True)
        raise typer.Exit(2)
    if scope not in ("affected", "pinned", "plant"):
        typer.echo("error: --scope must be affected, pinned or plant", err=True)
        raise typer.Exit(2)
    loss = _config(ctx).replan_max_loss
    if max_loss is not None:
        try:
            loss = None if max_loss.lower() == "none" else float(max_loss)
        except ValueError:
            loss = -1.0
        if loss is not None and loss < 0:
            typer.echo("error: --max-loss must be a share >= 0 or 'none'", err=True)
            raise typer.Exit(2)
    figures = plant_bench(
        jobs, ops, machines, time_limit, workers or _config(ctx).num_workers, seed, disruption,
        scope, stability_weight, loss,
    )  # fmt: skip
    _emit(
        figures,
        as_json,
        f"{jobs}x{ops}x{machines}{' ' + disruption if disruption else ''}: {figures['status']}, "
        f"first plan {figures['first_plan_s']} s, objective {figures['objective']} vs dispatch "
        f"{figures['dispatch_objective']} ({figures['improvement_pct']} % better; without the "
        f"stability term {figures['production_objective']} vs "
        f"{figures['dispatch_production_objective']}), "
        f"{figures['wall_s']} s wall, {figures['moved_operations']} moved of "
        f"{figures['affected_operations']} affected",
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} %"


def _mean(values: Any) -> float | None:
    found = [v for v in values if v is not None]
    return sum(found) / len(found) if found else None


def register(groups: CliGroups) -> None:
    """Add `schedule jssp|fjsp`, `bench jssp|fjsp|scheduler` and `eval plant` to the CLI."""
    groups.schedule.command("jssp")(schedule_jssp)
    groups.schedule.command("fjsp")(schedule_fjsp)
    groups.bench.command("jssp")(bench_jssp)
    groups.bench.command("fjsp")(bench_fjsp)
    groups.bench.command("scheduler")(bench_scheduler)
    from bench.plant.cli import eval_plant

    groups.eval.command("plant")(eval_plant)
