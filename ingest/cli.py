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
    shard: Annotated[
        str | None,
        typer.Option(
            "--shard",
            help="I/N: take this collector's share of the OPC-UA servers (rendezvous hashing"
            " by endpoint); MQTT sources are shared through the broker's shared subscriptions.",
        ),
    ] = None,
) -> None:
    """Collect from MQTT brokers and OPC-UA servers into the database until interrupted.

    Every configured source runs: MQTT brokers (ingest.mqtt: JSON, bare numbers, Sparkplug
    B) and OPC-UA servers (ingest.opcua: subscriptions to mapped nodes), through one pipeline
    with store-and-forward buffering, dead letters and /health + /metrics."""
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
    if shard is not None:
        from ingest.opcua.shard import apply_shard, parse_shard

        try:
            part = parse_shard(shard)
        except ValueError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    ingest_config = context.section("ingest", IngestConfig)
    if shard is not None:
        ingest_config = apply_shard(ingest_config, part, settings.data_dir)
    database = context.database()  # checks the schema; the pipeline opens its own pool
    try:
        run_collect(
            ingest_config,
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
