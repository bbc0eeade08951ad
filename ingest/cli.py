"""``millwright`` commands of the ``ingest`` package: ``collect`` (MQTT and OPC-UA) and
``opcua``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ingest.config import IngestConfig
from millwright.core.commands import CliGroups, app_context
from millwright.core.settings import SettingsError


def collect(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="TOML settings file with ingest.mqtt and/or ingest.opcua sources.",
        ),
    ] = None,
) -> None:
    """Collect from MQTT brokers and OPC-UA servers into the database until interrupted.

    Every configured source runs: MQTT brokers (ingest.mqtt: JSON, bare numbers, Sparkplug B) and OPC-UA servers (ingest.opcua:
    subscriptions to mapped nodes), through one pipeline with store-and-forward buffering,
    dead letters and /health + /metrics."""
    from ingest.errors import IngestConfigError
    from ingest.service import run_collect

    context = app_context(ctx)
    if config is not None:
        try:
            context.reload(config)
        except SettingsError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    settings = context.settings
    database = context.database()  # migrates; the pipeline opens its own short-timeout pool
    try:
        run_collect(
            context.section("ingest", IngestConfig),
            database.url,
            data_dir=settings.data_dir,
            register_unknown=settings.register_unknown,
            max_future_s=settings.max_future_seconds,
        )
    except IngestConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def register(groups: CliGroups) -> None:
    """Add this package's commands to the CLI."""
    groups.root.command("collect")(collect)

    from ingest.opcua.cli import register_opcua

    register_opcua(groups)
