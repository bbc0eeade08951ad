"""`millwright bench demo`: registered with the benchmarks, kept with the demo it measures
(the roof may not import the composition root)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from millwright.core.commands import CliGroups, app_context


def bench_demo(
    ctx: typer.Context,
    machines: Annotated[int, typer.Option(min=7, max=200)] = 12,
    history_days: Annotated[float, typer.Option(min=2, max=365)] = 40.0,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 300.0,
    plant_hours: Annotated[
        float,
        typer.Option(
            min=0,
            max=24 * 30,
            help="Keep watching the plant this many plant hours after the first plan (speed"
            " 1800: 2 s of wall time per plant hour) and report the share of samples with a"
            " machine at risk and the risk-driven tasks of each plan.",
        ),
    ] = 0.0,
    verbose_demo: Annotated[
        bool, typer.Option("--show-demo", help="Show the demo's own output on stderr.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The demo from a fresh data directory to its first risk-driven plan: seconds to URLs,
    first scores and first plan, beside the training step alone."""
    from millwright.app.demo.bench import run_demo_benchmark

    result = run_demo_benchmark(
        app_context(ctx).settings,  # type: ignore[arg-type]
        machines=machines,
        history_days=history_days,
        quiet=not verbose_demo,
        timeout_s=max(timeout, 120 + 2.5 * plant_hours),
        plant_hours=plant_hours,
    )
    if as_json:
        typer.echo(json.dumps(result))
        return
    for key in (
        "seconds_to_urls", "seconds_to_first_scores", "seconds_to_risk_plan",
        "seconds_training_in_demo", "seconds_training_alone",
    ):  # fmt: skip
        typer.echo(f"{key.removeprefix('seconds_').replace('_', ' '):<24}{result[key]} s")
    typer.echo(f"cpus {result['cpus']}, load average at start {result['load_average_at_start']}")
    if "watch" in result:
        w = result["watch"]
        typer.echo(
            f"over {plant_hours:g} plant hours: {w['samples']} samples,"
            f" {w['fraction_with_at_risk_machine'] or 0:.0%} with a machine at risk,"
            f" {w['fraction_with_both'] or 0:.0%} with it and a risk-driven task in the plan,"
            f" {w['fraction_with_risk_task'] or 0:.0%} with a task in the plan; a machine waited"
            f" at risk with no task at most {w['longest_wait_hours']} plant hours;"
            f" risk-driven tasks per plan {result['risk_tasks_per_plan']};"
            f" {result['failures']} failures, {result['maintenance_done']} maintenance,"
            f" {result['alerts']} alerts"
        )


def register(groups: CliGroups) -> None:
    """Add ``bench demo`` to the CLI."""
    groups.bench.command("demo")(bench_demo)
