"""`millwright alerts ...`: list and acknowledge alerts, test endpoints, run the service.

``alerts run`` is the long-running service: every ``interval_s`` it evaluates new risk
scores into episodes and drains the webhook outbox. Any number may run at once; outbox rows
are claimed with SKIP LOCKED and episode rows are locked per machine.
"""

from __future__ import annotations

import json
import threading
from typing import Annotated

import typer

from alerts.config import AlertsConfig
from millwright.core.commands import CliGroups, app_context

alerts_app = typer.Typer(help="Risk alerts and their webhooks.", no_args_is_help=True)


def register(groups: CliGroups) -> None:
    """Add this package's commands to the CLI."""
    groups.root.add_typer(alerts_app, name="alerts")


@alerts_app.command("list")
def list_command(
    ctx: typer.Context,
    state: Annotated[str | None, typer.Option(help="open, escalated or resolved.")] = None,
    machine: Annotated[str | None, typer.Option(help="Machine name.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Alerts, newest first."""
    from alerts.store import list_alerts

    alerts = list_alerts(app_context(ctx).database(), state=state, machine=machine)
    if as_json:
        typer.echo(json.dumps([_as_dict(a) for a in alerts], default=str))
        return
    typer.echo(f"{'id':>6}  {'machine':<16}{'rule':<12}{'severity':<10}{'state':<11}opened / ack")
    for a in alerts:
        ack = f"acked by {a.acked_by}" if a.acked_by else "-"
        typer.echo(
            f"{a.id:>6}  {a.machine:<16}{a.rule:<12}{a.severity.value:<10}{a.state.value:<11}"
            f"{a.opened_at:%Y-%m-%d %H:%M} / {ack}"
        )


@alerts_app.command("ack")
def ack_command(
    ctx: typer.Context,
    alert_id: int,
    user: Annotated[str, typer.Option(help="Who acknowledges.")] = "cli",
) -> None:
    """Acknowledge an alert: someone is on it."""
    from alerts.errors import AlertNotFound
    from alerts.service import acknowledge

    context = app_context(ctx)
    settings = context.settings
    try:
        alert = acknowledge(
            context.database(),
            alert_id,
            user,
            config=context.section("alerts", AlertsConfig),
            public_url=settings.public_url,
        )
    except AlertNotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"alert {alert.id} acknowledged by {alert.acked_by} at {alert.acked_at}")


@alerts_app.command("test")
def test_command(ctx: typer.Context, endpoint: str) -> None:
    """Send a signed test webhook to ENDPOINT and show the attempt."""
    from alerts.errors import UnknownEndpoint
    from alerts.outbox import attempts_of
    from alerts.service import send_test

    context = app_context(ctx)
    try:
        delivery = send_test(context.database(), context.section("alerts", AlertsConfig), endpoint)
    except UnknownEndpoint as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    for attempt in attempts_of(context.database(), delivery.id):
        typer.echo(
            f"{delivery.id}: status={attempt.status_code} latency={attempt.latency_ms or 0:.0f} ms"
            f" error={attempt.error or '-'}"
        )
    typer.echo(f"{delivery.id}: {delivery.state.value} {delivery.last_error or ''}".rstrip())
    if delivery.state.value != "delivered":
        raise typer.Exit(1)


@alerts_app.command("enable")
def enable_command(ctx: typer.Context, endpoint: str) -> None:
    """Re-enable an endpoint that answered 410 Gone; its parked deliveries are queued again."""
    from alerts.outbox import enable_endpoint

    count = enable_endpoint(app_context(ctx).database(), endpoint)
    typer.echo(f"endpoint {endpoint} enabled; {count} deliveries queued again")


@alerts_app.command("run")
def run_command(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    interval: Annotated[float | None, typer.Option(help="Seconds between passes.")] = None,
) -> None:
    """Evaluate new risk scores into episodes and deliver the webhook outbox."""
    from alerts.dispatcher import Dispatcher
    from alerts.service import check_endpoints, evaluate_latest

    context = app_context(ctx)
    settings = context.settings
    config = context.section("alerts", AlertsConfig)
    for name, problem in check_endpoints(config).items():
        if problem:
            typer.echo(f"endpoint {name}: {problem} (its deliveries will go dead)", err=True)
    database = context.database()
    pause = interval if interval is not None else config.interval_s
    stop = threading.Event()
    with Dispatcher(database, config) as dispatcher:
        while True:
            report = evaluate_latest(database, config, public_url=settings.public_url)
            sent = dispatcher.dispatch_due(limit=1000)
            typer.echo(
                f"evaluated {report.machines} machines, {report.scores} scores,"
                f" {len(report.transitions)} transitions; delivered {sent.delivered},"
                f" retrying {sent.retrying}, dead {sent.dead}, disabled {sent.disabled}"
            )
            if once or stop.wait(pause):
                break


def _as_dict(alert: object) -> dict[str, object]:
    from dataclasses import asdict

    return asdict(alert)  # type: ignore[call-overload, no-any-return]
