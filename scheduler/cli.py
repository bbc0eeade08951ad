"""`millwright` commands of the `scheduler` package.

- `millwright schedule run [--once]`: the worker that solves requested (re)schedules.

(`millwright serve`, the MES HTTP API, wires the API to alerts and lives in the app.)

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
        return app_context(ctx).section("scheduler", SchedulerConfig)
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
        done = run_worker(
            context.database(), context.section("scheduler", SchedulerConfig), stop, once=once
        )
    except KeyboardInterrupt:
        return
    typer.echo(f"solved {done} schedule request(s)")


def register(groups: CliGroups) -> None:
    """Add `schedule run` to the CLI."""
    groups.schedule.command("run")(schedule_run)
