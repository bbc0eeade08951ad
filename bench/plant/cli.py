"""`millwright eval plant`: the policy evaluation on the replayed plant.

Progress lines (one per policy and seed) go to stderr with ``--json`` and to stdout otherwise;
with ``--json`` the last stdout line is one JSON object: the run's report for one policy on
one seed, else the comparison (per-policy means, ratio to the better baseline, gap closed).
"""

from __future__ import annotations

import json

import typer


def eval_plant(
    ctx: typer.Context,
    policy: str = typer.Option(
        "all", "--policy", help="reactive, preventive, predictive, oracle, or all."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the engine split, orders and plant."),
    seeds: int = typer.Option(1, "--seeds", min=1, help="Run seeds seed..seed+N-1; show means."),
    jobs: int = typer.Option(
        1, "--jobs", min=1, help="Seeds run in this many processes (same figures as one)."
    ),
    machines: int = typer.Option(10, "--machines", min=1),
    days: int = typer.Option(90, "--days", min=1),
    markdown: bool = typer.Option(False, "--markdown", help="Print the comparison as a table."),
    as_json: bool = typer.Option(False, "--json", help="Last line is one JSON object."),
) -> None:
    """Compare maintenance policies on a discrete-event plant replaying held-out engines."""
    from bench.plant.compare import compare
    from bench.plant.report import Report
    from bench.plant.run import POLICIES, run_seeds
    from bench.plant.scenario import EvalConfig

    chosen = list(POLICIES) if policy == "all" else [policy]
    if any(p not in POLICIES for p in chosen):
        typer.echo(f"error: --policy must be one of {', '.join(POLICIES)} or all", err=True)
        raise typer.Exit(2)

    def progress(report: Report) -> None:
        typer.echo(report.describe(), err=as_json)

    # The same unit costs production's outcome figures use (settings section [outcomes]);
    # the defaults when run without the root CLI (its tests).
    root = ctx.find_root().obj
    outcomes = getattr(getattr(root, "settings", None), "outcomes", None)
    costs = outcomes.cost_model() if outcomes is not None else EvalConfig().costs
    config = EvalConfig(machines=machines, days=days, seed=seed, costs=costs)
    reports = run_seeds(config, chosen, range(seed, seed + seeds), progress, jobs)
    if len(reports) == 1:
        if as_json:
            typer.echo(json.dumps(reports[0].as_dict(), sort_keys=True))
        return
    comparison = compare(reports)
    if markdown or not as_json:
        typer.echo(comparison.markdown(), err=as_json)
    if as_json:
        payload = comparison.as_dict()
        payload["runs"] = [r.as_dict() for r in reports]
        typer.echo(json.dumps(payload, sort_keys=True))
