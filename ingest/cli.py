"""``millwright`` commands of the ``ingest`` package: ``collect`` and ``bench mqtt``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from millwright.core.commands import CliGroups, app_context


def collect(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="TOML settings file with ingest.mqtt sources."),
    ] = None,
) -> None:
    """Run every configured MQTT and OPC-UA source into the database until interrupted."""
    from ingest.errors import IngestConfigError
    from ingest.service import run_collect
    from millwright.app.settings import SettingsError, load_settings

    context = app_context(ctx)
    if config is not None:
        try:
            context.settings = load_settings(config)
        except SettingsError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from None
    settings = context.settings
    database = context.database()  # migrates; the pipeline opens its own short-timeout pool
    try:
        run_collect(
            settings.ingest,
            database.url,
            data_dir=settings.data_dir,
            register_unknown=settings.register_unknown,
            max_future_s=settings.max_future_seconds,
        )
    except IngestConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def bench_mqtt(
    ctx: typer.Context,
    messages: Annotated[int, typer.Option(help="Single-reading messages to publish.")] = 200_000,
    batched_readings: Annotated[
        int, typer.Option(help="Readings to publish in batched JSON messages.")
    ] = 2_000_000,
    batch: Annotated[int, typer.Option(help="Readings per batched message.")] = 500,
    publishers: Annotated[int, typer.Option(help="Concurrent publisher processes.")] = 4,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """End-to-end MQTT → database throughput through the real broker, with loss counted."""
    from bench.ingest_mqtt import run_mqtt_benchmark

    context = app_context(ctx)
    settings = context.settings
    result = run_mqtt_benchmark(
        context.database(),
        mqtt_url=settings.mqtt_url or "mqtt://127.0.0.1:1883",
        messages=messages,
        batched_readings=batched_readings,
        batch=batch,
        publishers=publishers,
        data_dir=settings.data_dir,
    )
    if as_json:
        typer.echo(json.dumps(result))
        return
    for name in ("single", "batched"):
        r = result[name]
        typer.echo(
            f"{name:>8}: {r['messages_per_s']:>10,.0f} msg/s {r['readings_per_s']:>10,.0f}"
            f" readings/s  lost {r['lost']}  CPU {r['cpu_ms_per_1000_messages']:.1f} ms/1k msgs"
        )
    typer.echo(f"  writer: {result['writer']['writer_rows_per_s']:>10,.0f} rows/s (bulk writer)")


def register(groups: CliGroups) -> None:
    """Add this package's commands to the CLI."""
    groups.root.command("collect")(collect)
    groups.bench.command("mqtt")(bench_mqtt)

    from ingest.opcua.cli import register_opcua

    register_opcua(groups)
