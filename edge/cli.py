"""`millwright edge refresh|sync|status`: the edge's SQLite copy of the active model and its
feature state, and the sync of locally computed scores into the central ``risk_scores``."""

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
    help="Edge scoring: a local copy of the active model; sync of edge scores.",
    no_args_is_help=True,
)

CacheOption = Annotated[
    Path | None, typer.Option("--cache", help="The SQLite file; default: <data dir>/edge.sqlite.")
]


def register(groups: CliGroups) -> None:
    """Add this package's commands to the CLI."""
    groups.root.add_typer(edge_app, name="edge")


def _cache_path(ctx: typer.Context, cache: Path | None) -> Path:
    return cache if cache is not None else Path(app_context(ctx).settings.data_dir) / "edge.sqlite"


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
