"""`millwright edge run|refresh|sync|status`: the edge service, its SQLite copy of the active
model and feature state, and the sync of locally computed scores into ``risk_scores``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from millwright.core.commands import CliGroups, app_context

if TYPE_CHECKING:
    from edge.scoring import EdgeScorer

edge_app = typer.Typer(
    help="Edge scoring and alerting next to a collector, through outages of the centre.",
    no_args_is_help=True,
)

CacheOption = Annotated[
    Path | None, typer.Option("--cache", help="The SQLite file; default: <data dir>/edge.sqlite.")
]


def register(groups: CliGroups) -> None:
    """Add this package's commands to the CLI."""
    groups.root.add_typer(edge_app, name="edge")


def _cache_path(ctx: typer.Context, cache: Path | None) -> Path:
    if cache is not None:
        return cache
    from edge.config import EdgeConfig

    configured = app_context(ctx).section("edge", EdgeConfig).cache
    return configured or Path(app_context(ctx).settings.data_dir) / "edge.sqlite"


@edge_app.command("run")
def run_command(
    ctx: typer.Context,
    cache: CacheOption = None,
    config: Annotated[Path | None, typer.Option("--config", help="A TOML settings file.")] = None,
) -> None:
    """Score and alert next to the collector; alert the plant LAN while the centre is away."""
    import signal
    import threading

    from alerts import AlertsConfig
    from edge.cache import EdgeCache
    from edge.config import EdgeConfig
    from edge.service import EdgeService
    from ingest import IngestConfig
    from models import ModelsConfig

    context = app_context(ctx)
    if config is not None:
        context.reload(config)
    settings = context.settings
    if not settings.database_url:
        typer.echo(
            "error: set database_url (MILLWRIGHT_DATABASE_URL) to the central database", err=True
        )
        raise typer.Exit(2)
    service = EdgeService(
        database_url=settings.database_url,
        cache=EdgeCache(_cache_path(ctx, cache)),
        edge=context.section("edge", EdgeConfig),
        ingest=context.section("ingest", IngestConfig),
        models=context.section("models", ModelsConfig),
        alerts=context.section("alerts", AlertsConfig),
        public_url=settings.public_url,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    typer.echo(f"edge: cache {service.cache.path}; Ctrl-C stops")
    service.run(stop)


def _scorer(ctx: typer.Context, cache: Path | None) -> EdgeScorer:
    from edge.cache import EdgeCache
    from edge.scoring import EdgeScorer
    from models import ModelsConfig

    return EdgeScorer(
        EdgeCache(_cache_path(ctx, cache)), app_context(ctx).section("models", ModelsConfig)
    )


@edge_app.command("refresh")
def refresh_command(
    ctx: typer.Context,
    cache: CacheOption = None,
    force: Annotated[bool, typer.Option(help="Copy even if the version is unchanged.")] = False,
) -> None:
    """Copy the active model and its machines' feature state from the central database."""
    scorer = _scorer(ctx, cache)
    try:
        version = scorer.refresh(app_context(ctx).database(), datetime.now(UTC), force=force)
    finally:
        scorer.cache.close()
    if version is None:
        typer.echo("error: no active model in the central database; promote one first", err=True)
        raise typer.Exit(1)
    typer.echo(f"edge copy: model {version} in {scorer.cache.path}")


@edge_app.command("sync")
def sync_command(ctx: typer.Context, cache: CacheOption = None) -> None:
    """Store every score computed at the edge in the central risk_scores (idempotent)."""
    scorer = _scorer(ctx, cache)
    try:
        pending = len(scorer.cache.scores(unsynced=True))
        written = scorer.sync(app_context(ctx).database())
    finally:
        scorer.cache.close()
    typer.echo(f"synced {pending} edge scores, {written} new in risk_scores")


@edge_app.command("status")
def status_command(
    ctx: typer.Context,
    cache: CacheOption = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The local copy's model version and how many edge scores await sync (no database)."""
    scorer = _scorer(ctx, cache)
    try:
        doc = {
            "cache": str(scorer.cache.path),
            "model_version": scorer.cache.model_version(),
            "scores": len(scorer.cache.scores()),
            "unsynced": len(scorer.cache.scores(unsynced=True)),
        }
    finally:
        scorer.cache.close()
    typer.echo(json.dumps(doc) if as_json else "  ".join(f"{k} {v}" for k, v in doc.items()))
