"""`millwright` commands of the `scheduler` package.

- `millwright schedule run [--once]`: the worker that solves requested (re)schedules.
- `millwright serve [--host H] [--port P]`: the MES HTTP API (uvicorn).

With `--json` the last stdout line is one JSON object, for scripts and CI.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from millwright.core.commands import CliGroups, app_context
from scheduler.config import SchedulerConfig


def _config(ctx: typer.Context) -> SchedulerConfig:
    """The scheduler settings; defaults when the command runs outside the root app."""
    try:
        return app_context(ctx).settings.scheduler
    except RuntimeError:
        return SchedulerConfig()


def _emit(payload: dict[str, Any], as_json: bool, human: str) -> None:
    typer.echo(json.dumps(payload, sort_keys=True) if as_json else human)


def schedule_run(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Solve what is waiting, then exit."),
) -> None:
    """Solve requested (re)schedules as they arrive (several workers may run at once)."""
    import signal
    import threading

    from scheduler.service import run_worker

    context = app_context(ctx)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        done = run_worker(context.database(), context.settings.scheduler, stop, once=once)
    except KeyboardInterrupt:
        return
    typer.echo(f"solved {done} schedule request(s)")


def serve(
    ctx: typer.Context,
    host: str | None = typer.Option(None, "--host", help="Default: scheduler api_host."),
    port: int | None = typer.Option(None, "--port", min=1, max=65535),
) -> None:
    """Serve the MES HTTP API (OpenAPI document at /openapi.json)."""
    import uvicorn

    from alerts.service import acknowledge
    from api import create_app

    context = app_context(ctx)
    settings = context.settings
    database = context.database()

    def ack(alert_id: int, username: str) -> object:
        # The alerts package's acknowledgement also tells subscribed webhooks.
        return acknowledge(
            database, alert_id, username, config=settings.alerts, public_url=settings.public_url
        )

    app = create_app(settings, database, alert_ack=ack)
    config = settings.scheduler
    uvicorn.run(app, host=host or config.api_host, port=port or config.api_port, log_config=None)


def register(groups: CliGroups) -> None:
    """Add `schedule run` and `serve` to the CLI."""
    groups.schedule.command("run")(schedule_run)
    groups.root.command("serve")(serve)
