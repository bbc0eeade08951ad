"""`millwright features run|backfill|show`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

import typer

from features.config import FeaturesConfig
from millwright.core.commands import CliGroups, app_context

features_app = typer.Typer(help="Feature definitions, incremental runs and backfills.")


def _utc(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"expected an ISO 8601 time, got {text!r}", param_hint=option
        ) from None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _progress_job(ctx: typer.Context, label: str):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from features.jobs import FeatureJob

    context = app_context(ctx)
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        TextColumn("{task.completed:,.0f} rows"),
        TimeRemainingColumn(),
        transient=True,
    )
    task = progress.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    job = FeatureJob(
        context.database(), context.section("features", FeaturesConfig), progress=update
    )
    return job, progress


def _report(result_dict: dict[str, object], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result_dict))
        return
    typer.echo(
        f"{result_dict['version']}: {result_dict['written']:,} new rows of {result_dict['rows']:,}"
        f" for {result_dict['machines']} machines from {result_dict['readings']:,} readings"
        f" in {result_dict['seconds']} s (through {result_dict['through']})"
    )


@features_app.command("run")
def run_command(
    ctx: typer.Context,
    until: Annotated[
        str | None, typer.Option(help="Last instant (ISO 8601, UTC); default: plant clock.")
    ] = None,
    machine: Annotated[list[int], typer.Option("--machine", help="Only these machine ids.")] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Compute features since each machine's watermark (a no-op when up to date)."""
    job, progress = _progress_job(ctx, "features")
    with progress:
        result = job.run(until=_utc(until, "--until"), machines=machine or None)
    _report(result.as_dict(), as_json)


@features_app.command("backfill")
def backfill_command(
    ctx: typer.Context,
    start: Annotated[str, typer.Option(help="First instant (ISO 8601, UTC).")],
    end: Annotated[str, typer.Option(help="Last instant (ISO 8601, UTC).")],
    machine: Annotated[list[int], typer.Option("--machine", help="Only these machine ids.")] = [],  # noqa: B006
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Compute features over a time range; rows already stored are kept."""
    first, last = _utc(start, "--start"), _utc(end, "--end")
    assert first is not None and last is not None
    if last < first:
        raise typer.BadParameter("--end is before --start", param_hint="--end")
    job, progress = _progress_job(ctx, "backfill")
    with progress:
        result = job.backfill(first, last, machines=machine or None)
    _report(result.as_dict(), as_json)


@features_app.command("show")
def show_command(
    ctx: typer.Context,
    version: Annotated[str | None, typer.Argument(help="A version to describe.")] = None,
    machine: Annotated[
        int | None, typer.Option(help="Print this machine's latest features.")
    ] = None,
) -> None:
    """List feature versions, or describe one (its definition, names and watermarks)."""
    from features.errors import FeaturesError
    from features.store import FeatureStore

    store = FeatureStore(app_context(ctx).database())
    if version is None:
        versions = store.versions()
        if versions.empty:
            typer.echo("no feature versions yet; run `millwright features run`")
        for row in versions.itertuples(index=False):
            typer.echo(
                f"{row.version}  {row.features} features  {row.machines} machines"
                f"  through {row.computed_through}  (created {row.created_at:%Y-%m-%d %H:%M})"
            )
        return
    try:
        definition = store.definition(version)
    except FeaturesError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(definition.to_json(), indent=2))
    if machine is not None:
        latest = store.latest(version, [machine])
        if latest.empty:
            typer.echo(f"machine {machine} has no features of {version}")
            return
        row = latest.iloc[0]
        typer.echo(f"machine {machine} at {row['ts']}:")
        for name in definition.names:
            typer.echo(f"  {name:<40} {row[name]:.6g}")
        return
    for name, doc in definition.describe().items():
        typer.echo(f"  {name:<40} {doc}")
    for machine_id, through in sorted(store.watermarks(version).items()):
        typer.echo(f"machine {machine_id}: computed through {through.isoformat()}")


def register(groups: CliGroups) -> None:
    """Add this package's commands to the CLI."""
    groups.root.add_typer(features_app, name="features")
