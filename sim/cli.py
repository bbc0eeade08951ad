"""`millwright` commands of the `sim` package."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import typer

from millwright.core.commands import CliGroups, app_context

DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"


def register(groups: CliGroups) -> None:
    """Add this package's commands to the CLI."""

    @groups.root.command("sim")
    def sim_command(
        ctx: typer.Context,
        speed: float | None = typer.Option(
            None, help="Plant seconds per wall second (3600: an hour per second; inf: unpaced)."
        ),
        seed: int | None = typer.Option(None, help="Same seed, same lives, noise and events."),
        machines: int | None = typer.Option(None, min=1, help="Number of simulated machines."),
        hours: float | None = typer.Option(
            None, min=0, help="Stop after this much plant time (default: run until Ctrl-C)."
        ),
        resume_at: datetime | None = typer.Option(
            None,
            help="Fast-forward silently from the configured start to this plant time (UTC)"
            " first: continues a plant whose history was already recorded.",
        ),
        record_events: bool = typer.Option(
            False, help="Store ground-truth events and machine state in the database."
        ),
        replay_maintenance: bool = typer.Option(
            False,
            help="With --resume-at: replay the maintenance recorded in the database while"
            " fast-forwarding, so a restarted plant continues exactly where it stopped.",
        ),
    ) -> None:
        """Run the simulated plant, publishing over MQTT and serving OPC-UA."""
        from sim.build import build_plant
        from sim.config import SimConfig
        from sim.errors import SimError
        from sim.service import serve
        from sim.sinks import LoggingEventSink

        context = app_context(ctx)
        settings = context.settings
        updates: dict[str, Any] = {"speed": speed, "seed": seed, "machines": machines}
        values = context.section("sim", SimConfig).model_dump() | {
            k: v for k, v in updates.items() if v is not None
        }
        config = SimConfig.model_validate(values)
        plant = build_plant(config)
        if resume_at is not None:
            resume = (resume_at if resume_at.tzinfo else resume_at.replace(tzinfo=UTC)).astimezone(
                UTC
            )
            if replay_maintenance:
                from sim.db_sinks import recorded_maintenance

                for order in recorded_maintenance(context.database(), resume):
                    plant.submit(order)
            plant.advance_to(resume)
        event_sinks: list[Any] = [LoggingEventSink()]
        reading_sinks: list[Any] = []
        if record_events:
            from sim.db_sinks import DatabaseEventSink

            recorder = DatabaseEventSink(context.database())
            recorder.register_machines([(m.id, m.line) for m in plant.machines])
            event_sinks.append(recorder)
            reading_sinks.append(recorder)
        try:
            asyncio.run(
                serve(
                    config,
                    mqtt_url=settings.mqtt_url or DEFAULT_MQTT_URL,
                    hours=hours,
                    event_sinks=event_sinks,
                    reading_sinks=reading_sinks,
                    plant=plant,
                )
            )
        except SimError as exc:
            typer.echo(f"millwright sim: {exc}", err=True)
            raise typer.Exit(1) from exc
