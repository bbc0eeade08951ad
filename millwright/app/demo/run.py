"""``millwright demo``: the whole loop on embedded defaults.

1. an embedded PostgreSQL (or the configured database) and an MQTT broker of its own;
2. three weeks of plant history replayed from the bundled C-MAPSS engines, features
   backfilled and a model trained, promoted and run;
3. the live plant: the simulator publishing over MQTT and serving OPC-UA, both collectors,
   the worker (features, scoring, alerts, replanning) and the web service (API + dashboard),
   each a ``millwright`` child process exactly as in production;
4. an MES that submits orders and reports progress through the API, forwards the plan's
   maintenance to the machines, and a maintenance team receiving signed webhooks.
Ctrl-C stops everything in order.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import typer

from millwright.app.demo.history import record_history
from millwright.app.demo.mes import DemoMes, Stage
from millwright.app.demo.model import train_initial_model
from millwright.app.demo.plant import (
    DemoEndpoints,
    DemoOptions,
    demo_config,
    history_window,
    machines_by_line,
    new_webhook_secret,
    write_config,
)
from millwright.app.demo.receiver import WebhookReceiver
from millwright.app.demo.services import ServiceGroup
from millwright.app.settings import load_settings
from millwright.core.broker import EmbeddedBroker, free_port
from millwright.core.commands import AppContext
from millwright.core.embedded import EmbeddedPostgres
from millwright.core.storage.database import Database
from millwright.core.storage.migrate import upgrade
from millwright.core.storage.timescale import TimescalePolicy
from millwright.core.users import UserStore
from models import latest_risks

log = logging.getLogger(__name__)


@dataclass
class DemoReport:
    """What the demo produced, for the closing summary and the end-to-end test."""

    database_url: str = ""
    api_url: str = ""
    dashboard_url: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    risk_driven_maintenance: int = 0
    webhooks_received: int = 0
    orders_submitted: int = 0
    plant_time: datetime | None = None
    seconds_to_risk_plan: float | None = None
    live_from: datetime | None = None


def run_demo(
    context: AppContext, options: DemoOptions | None = None, stop: threading.Event | None = None
) -> DemoReport:
    """Run the demo until Ctrl-C, ``stop`` or ``options.live_hours`` of plant time."""
    options = options or DemoOptions()
    stop = stop or threading.Event()
    began = time.monotonic()
    settings = context.settings
    report = DemoReport()
    run_dir = Path(tempfile.mkdtemp(prefix="millwright-demo-"))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    with contextlib.ExitStack() as cleanup:
        cleanup.enter_context(_signals_restored())
        _interrupt_on_sigterm()
        # 1. infrastructure
        if settings.database_url is None:
            embedded = EmbeddedPostgres(settings.data_dir / "postgres", database="millwright_demo")
            url = embedded.start(fresh=True)
            cleanup.callback(embedded.stop)
            typer.echo(f"embedded PostgreSQL in {settings.data_dir / 'postgres'}")
        else:
            url = settings.database_url
        report.database_url = url
        database = Database(url, min_size=1, max_size=4)
        cleanup.callback(database.close)
        upgrade(database, TimescalePolicy.from_settings(settings.storage))
        timescale = database.timescale
        typer.echo(f"database ready (TimescaleDB {'active' if timescale else 'not available'})")
        if settings.mqtt_url is None:
            broker = EmbeddedBroker()
            mqtt_url = broker.start()
            cleanup.callback(broker.stop)
            typer.echo(f"MQTT broker at {mqtt_url}")
        else:
            mqtt_url = settings.mqtt_url
        host, port = mqtt_url.split("://", 1)[1].rsplit(":", 1)

        receiver = WebhookReceiver(secret=new_webhook_secret())
        receiver.start()
        cleanup.callback(receiver.stop)
        endpoints = DemoEndpoints(
            broker_host=host,
            broker_port=int(port),
            opcua_port=free_port(),
            metrics_port=free_port(),
            worker_health_port=free_port(),
            webhook_url=receiver.url,
            webhook_secret=receiver.secret,
        )
        start, live = history_window(options, datetime.now(UTC))
        report.live_from = live
        config = demo_config(options, endpoints, start)
        config["data_dir"] = str(settings.data_dir)
        config_path = write_config(config, run_dir / "demo.toml")
        demo_settings = load_settings(config_path, database_url=url, mqtt_url=mqtt_url)

        # 2. history, features, model
        typer.echo(f"recording {options.history_days:g} days of plant history ...")
        stats = record_history(
            database, demo_settings.sim, live, max_future_s=demo_settings.max_future_seconds
        )
        typer.echo(f"  {stats.samples:,} samples, {stats.events} ground-truth events")
        typer.echo("backfilling features and training the risk and RUL models ...")
        summary = train_initial_model(database, demo_settings, start, live)
        typer.echo(f"  {summary}")

        # 3. MES user, orders before the first plan
        users = UserStore(database)
        users.add("mes", new_webhook_secret(), roles=["planner"])
        token = users.create_token("mes", "demo-mes")
        report.api_url = f"http://127.0.0.1:{options.api_port}/api/v1"
        report.dashboard_url = f"http://127.0.0.1:{options.dashboard_port}/"

        services = ServiceGroup(
            config_path,
            env={"MILLWRIGHT_DATABASE_URL": url, "MILLWRIGHT_MQTT_URL": mqtt_url},
            log_dir=run_dir / "logs",
        )
        cleanup.callback(services.stop)
        services.start(
            "web",
            "web",
            "--api-port",
            str(options.api_port),
            "--dashboard-port",
            str(options.dashboard_port),
        )
        services.start("sim", "sim", "--resume-at", live.isoformat(), "--record-events")
        services.start("collect", "collect")
        _wait_for_api(report.api_url, stop)
        stages = tuple(
            Stage(line, tuple(machines)) for line, machines in machines_by_line(options).items()
        )
        mes = DemoMes(report.api_url, token, stages, seed=options.seed)
        cleanup.callback(mes.close)
        mes.submit_orders(live)
        mes.submit_orders(live)
        services.start("worker", "worker")

        typer.echo("")
        typer.echo(f"dashboard:  {report.dashboard_url}")
        typer.echo(f"MES API:    {report.api_url}  (OpenAPI: {report.api_url[:-7]}/openapi.json)")
        typer.echo(f"API token:  {token}  (user 'mes', role planner)")
        typer.echo(f"webhooks:   {receiver.url}  (the maintenance team's receiver)")
        typer.echo(f"logs:       {run_dir / 'logs'}")
        typer.echo("Ctrl-C stops the demo.\n")

        # 4. the loop of the shop floor
        publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="millwright-demo-mes")
        publisher.connect(host, int(port))
        publisher.loop_start()
        cleanup.callback(publisher.disconnect)
        cleanup.callback(publisher.loop_stop)
        command_topic = demo_settings.sim.mqtt_command_topic.format(
            prefix=demo_settings.sim.mqtt_topic_prefix, line="", machine=""
        )
        _handle_signals(stop)
        next_orders = live.timestamp() + options.order_every_hours * 3600
        last_status = 0.0
        while not stop.wait(1.0):
            failed = services.failed()
            if failed:
                names = ", ".join(s.name for s in failed)
                typer.echo(f"service(s) stopped unexpectedly: {names}; see {run_dir / 'logs'}")
                break
            now = _plant_now(database)
            if now is None:
                continue
            report.plant_time = now
            if now.timestamp() >= next_orders:
                mes.submit_orders(now)
                next_orders += options.order_every_hours * 3600
            plan = mes.current_plan()
            if plan is not None:
                mes.report_progress(plan, now)
                mes.forward_maintenance(plan, publisher, command_topic)
            if report.seconds_to_risk_plan is None and _risk_driven_maintenance(database):
                report.seconds_to_risk_plan = round(time.monotonic() - began, 1)
                typer.echo(
                    f"a plan with risk-driven maintenance after {report.seconds_to_risk_plan} s"
                )
            if time.monotonic() - last_status > 10:
                last_status = time.monotonic()
                typer.echo(_status_line(database, now, receiver))
            if options.live_hours is not None and (now - live).total_seconds() >= (
                options.live_hours * 3600
            ):
                break
        typer.echo("stopping ...")
        report.orders_submitted = mes.submitted
        report.webhooks_received = len(receiver.received)
        report.counts = _counts(database)
        report.risk_driven_maintenance = _risk_driven_maintenance(database)
    typer.echo(json.dumps({"summary": _summary(report)}))
    return report


@contextlib.contextmanager
def _signals_restored() -> Iterator[None]:
    """Put back the caller's SIGINT/SIGTERM handlers when the demo ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _interrupt_on_sigterm() -> None:
    """Until the live loop takes over, SIGTERM unwinds like Ctrl-C, so cleanup still runs."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, signal.default_int_handler)


def _handle_signals(stop: threading.Event) -> None:
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())


def _wait_for_api(api_url: str, stop: threading.Event, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while not stop.is_set():
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the web service did not answer at {api_url} in {timeout:.0f} s")
        time.sleep(0.3)


def _plant_now(database: Database) -> datetime | None:
    rows = database.execute("SELECT max(ts) FROM readings")
    return rows[0][0] if rows and rows[0][0] else None


def _counts(database: Database) -> dict[str, int]:
    counts = {}
    for table in (
        "readings", "features", "risk_scores", "alerts", "webhook_deliveries", "schedules",
        "jobs", "events", "dead_letters",
    ):  # fmt: skip
        counts[table] = int(database.execute(f"SELECT count(*) FROM {table}")[0][0])
    return counts


def _risk_driven_maintenance(database: Database) -> int:
    rows = database.execute(
        "SELECT count(*) FROM schedule_assignments a JOIN schedules s ON s.id = a.schedule_id"
        " WHERE s.is_current AND a.kind = 'maintenance'"
    )
    return int(rows[0][0])


def _status_line(database: Database, now: datetime, receiver: WebhookReceiver) -> str:
    with database.connection() as conn:
        risks = latest_risks(conn)
    top = max(risks, key=lambda r: r.p_fail, default=None)
    risk = f"highest risk {top.machine} p_fail {top.p_fail:.2f}" if top else "no scores yet"
    plan = _risk_driven_maintenance(database)
    return (
        f"plant time {now:%Y-%m-%d %H:%M} · {risk} · {plan} maintenance task(s) in the plan"
        f" · {len(receiver.received)} alert(s) delivered"
    )


def _summary(report: DemoReport) -> dict[str, Any]:
    return {
        "plant_time": report.plant_time.isoformat() if report.plant_time else None,
        "counts": report.counts,
        "risk_driven_maintenance": report.risk_driven_maintenance,
        "webhooks_received": report.webhooks_received,
        "orders_submitted": report.orders_submitted,
        "seconds_to_risk_plan": report.seconds_to_risk_plan,
    }
