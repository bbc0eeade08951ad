"""``millwright demo``: a whole plant on this machine, every stage a real service.

1. the data directory is taken (one demo per directory) and the web ports are checked, before
   any work;
2. an embedded PostgreSQL (or the configured database) and an MQTT broker;
3. on a first start: the plant's recorded past and a first model trained on it; on a restart:
   the same database, model, API token and sign-in, the plant resuming where it stopped;
4. the live plant: the simulator (a rotating cast of degrading machines, over MQTT and
   OPC-UA), both collectors, the worker (features, scoring, alerts, replanning) and the web
   service (API + dashboard), each a ``millwright`` child process exactly as in production;
5. an MES that submits orders and reports progress through the API, forwards the plan's
   maintenance to the machines, and a maintenance team receiving signed webhooks.

Ctrl-C prints "stopping…", stops training at its next safe point and every child within 10 s.
A child that dies is reported within 2 s in one line, and the demo stops.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import typer

from millwright.app.demo import console
from millwright.app.demo.console import DemoReport
from millwright.app.demo.history import record_history
from millwright.app.demo.mes import DemoMes, Stage
from millwright.app.demo.model import train_initial_model
from millwright.app.demo.past import PastReplay, replay_in_background
from millwright.app.demo.plant import (
    DEFAULT_API_PORT,
    DEFAULT_DASHBOARD_PORT,
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
from millwright.app.demo.state import DemoDirectory, DemoState
from millwright.app.settings import Settings, load_settings
from millwright.core.broker import EmbeddedBroker, free_port
from millwright.core.commands import AppContext, CommandError
from millwright.core.embedded import EmbeddedPostgres
from millwright.core.ports import choose_port
from millwright.core.storage.database import Database, check_reachable
from millwright.core.storage.migrate import upgrade
from millwright.core.storage.timescale import TimescalePolicy
from millwright.core.users import UserStore
from models import ModelsError

log = logging.getLogger(__name__)

__all__ = ["DemoFailed", "DemoReport", "DemoStopped", "run_demo"]

SIGN_IN_USER = "demo"
PAGES = ("alert.opened", "alert.escalated")


class DemoStopped(Exception):
    """Ctrl-C (or the caller's stop event) asked the demo to stop."""


class DemoFailed(CommandError):
    """A part of the demo stopped on its own; the message says which and why."""


Echo = Callable[[str], None]


def run_demo(
    context: AppContext,
    options: DemoOptions | None = None,
    stop: threading.Event | None = None,
    *,
    echo: Echo = typer.echo,
    watch: Callable[[DemoReport], None] | None = None,
) -> DemoReport:
    """Run the demo until Ctrl-C, ``stop`` or ``options.live_hours`` of plant time.

    ``watch`` sees the report once a second while the plant is live (``bench demo`` stops
    the demo through ``stop`` once the figures it measures are in)."""
    options = options or DemoOptions()
    stop = stop or threading.Event()
    began = time.monotonic()
    settings = context.settings
    if not isinstance(settings, Settings):  # the root CLI passes the composed settings
        raise TypeError("the demo needs the composed millwright.app.settings.Settings")
    report = DemoReport()
    directory = DemoDirectory(options.data_dir or settings.data_dir)
    report.data_dir = str(directory.data_dir)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        _run(context, options, stop, echo, began, settings, report, directory, watch)
    except DemoStopped:
        report.stopped_by = "stop"
        echo("stopped before the plant went live")
        return report
    if options.as_json:
        echo(json.dumps({"summary": report.summary()}))
    else:
        for line in console.summary_table(report):
            echo(line)
    return report


def _run(
    context: AppContext,
    options: DemoOptions,
    stop: threading.Event,
    echo: Echo,
    began: float,
    settings: Settings,
    report: DemoReport,
    directory: DemoDirectory,
    watch: Callable[[DemoReport], None] | None,
) -> None:
    with contextlib.ExitStack() as cleanup:
        # 1. the directory and the ports, before any work
        directory.lock()
        cleanup.callback(directory.unlock)
        api_port, note = choose_port(
            options.api_port, DEFAULT_API_PORT, host="127.0.0.1", what="MES API",
            option="--api-port",
        )  # fmt: skip
        if note:
            echo(note)
        dashboard_port, note = choose_port(
            options.dashboard_port, DEFAULT_DASHBOARD_PORT, host="127.0.0.1",
            what="dashboard", option="--dashboard-port",
        )  # fmt: skip
        if note:
            echo(note)
        cleanup.enter_context(_stop_on_signals(stop, echo))
        checkpoint = _checkpoint(stop)

        # 2. infrastructure
        if options.fresh:
            directory.forget_state()
        url = _database_url(settings, directory, options, cleanup, echo)
        report.database_url = url
        database = Database(url, min_size=1, max_size=4)
        cleanup.callback(database.close)
        upgrade(database, TimescalePolicy.from_settings(settings.storage))
        timescale = database.timescale
        echo(f"database ready (TimescaleDB {'active' if timescale else 'not available'})")
        state = _resumable(directory.load_state(), database, url)
        if state is not None:
            options = replace(
                options, seed=state.seed, machines=state.machines, lines=state.lines,
                history_days=state.history_days,
                train_days=state.train_days or state.history_days,
            )  # fmt: skip
        if settings.mqtt_url is None:
            broker = EmbeddedBroker()
            mqtt_url = broker.start()
            cleanup.callback(broker.stop)
            echo(f"MQTT broker at {mqtt_url}")
        else:
            mqtt_url = settings.mqtt_url
        host, port = mqtt_url.split("://", 1)[1].rsplit(":", 1)
        receiver = WebhookReceiver(secret=new_webhook_secret())
        receiver.start()
        cleanup.callback(receiver.stop)
        endpoints = DemoEndpoints(
            api_port=api_port,
            dashboard_port=dashboard_port,
            broker_host=host,
            broker_port=int(port),
            opcua_port=free_port(),
            metrics_port=free_port(),
            worker_health_port=free_port(),
            webhook_url=receiver.url,
            webhook_secret=receiver.secret,
        )
        start, live = (
            (state.start, state.live_from)
            if state is not None
            else history_window(options, datetime.now(UTC))
        )
        report.live_from = live
        train_from = max(start, live - timedelta(days=options.train_days))
        config = demo_config(options, endpoints, start)
        config["data_dir"] = str(directory.data_dir)
        config_path = write_config(config, directory.config_path)
        demo_settings = load_settings(config_path, database_url=url, mqtt_url=mqtt_url)
        services = ServiceGroup(
            config_path,
            env={"MILLWRIGHT_DATABASE_URL": url, "MILLWRIGHT_MQTT_URL": mqtt_url},
            log_dir=directory.log_dir,
        )
        cleanup.callback(services.stop)
        report.api_url = f"http://127.0.0.1:{api_port}/api/v1"
        report.dashboard_url = f"http://127.0.0.1:{dashboard_port}/"
        web_args = ("--api-port", str(api_port), "--dashboard-port", str(dashboard_port))

        # 3. the past: recorded and learnt once, resumed after
        if state is None:
            echo(
                f"recording {options.history_days:g} days of plant history (readings of the"
                f" last {options.train_days:g} now, the weeks before in the background) ..."
            )
            stats = _in_thread(
                lambda: record_history(
                    database, demo_settings.sim, live,
                    max_future_s=demo_settings.max_future_seconds, readings_from=train_from,
                    checkpoint=checkpoint,
                ),
                stop, services,
            )  # fmt: skip
            echo(f"  {stats.samples:,} samples, {stats.events} ground-truth events")
            services.start("web", "web", *web_args)
            services.start("sim", "sim", "--resume-at", live.isoformat(), "--record-events")
            services.start("collect", "collect")
            echo("backfilling features and training the risk and RUL models ...")
            trained_at = time.monotonic()
            try:
                summary = _in_thread(
                    lambda: train_initial_model(
                        database, demo_settings, train_from, live, checkpoint=checkpoint
                    ),
                    stop, services,
                )  # fmt: skip
            except ModelsError as exc:
                raise DemoFailed(
                    f"the first model could not be trained on {options.train_days:g} days"
                    f" of history ({exc}); try a longer --train-days"
                ) from exc
            report.seconds_training = round(time.monotonic() - trained_at, 1)
            echo(f"  {summary} ({report.seconds_training:.0f} s)")
            scored_from = live
        else:
            resume_at = _plant_now(database) or live
            report.resumed = True
            echo(
                f"resuming the demo in {directory.data_dir} at plant time"
                f" {resume_at:%Y-%m-%d %H:%M} (same database, model and API token;"
                " --fresh starts over)"
            )
            services.start("web", "web", *web_args)
            services.start(
                "sim", "sim", "--resume-at", resume_at.isoformat(), "--record-events",
                "--replay-maintenance",
            )  # fmt: skip
            services.start("collect", "collect")
            scored_from = resume_at

        # 4. people: the MES's token and a sign-in, the same across restarts
        users = UserStore(database)
        token = state.token if state is not None else ""
        if not token or users.user_for_token(token) is None:
            users.add("mes", secrets.token_urlsafe(18), roles=["planner"])
            token = users.create_token("mes", "demo-mes")
        password = state.password if state is not None else secrets.token_urlsafe(9)
        users.add(SIGN_IN_USER, password, roles=["viewer", "planner", "maintenance"])
        report.token = token
        saved = DemoState(
            start=start, live_from=live, seed=options.seed, machines=options.machines,
            lines=options.lines, history_days=options.history_days, database=url,
            token=token, password=password, train_days=options.train_days,
            past_replayed=state.past_replayed if state is not None else False,
        )  # fmt: skip
        directory.save_state(saved)

        # 5. the live plant
        _wait_for(lambda: _api_answers(report.api_url), stop, services, 90, "the MES API")
        stages = tuple(
            Stage(line, tuple(machines)) for line, machines in machines_by_line(options).items()
        )
        mes = DemoMes(report.api_url, token, stages, seed=options.seed)
        mes.submitted = _jobs_so_far(database)
        cleanup.callback(mes.close)
        if state is None:
            mes.submit_orders(live)
            mes.submit_orders(live)
        services.start("worker", "worker")
        mes.request_plan()
        report.seconds_to_urls = round(time.monotonic() - began, 1)
        for line in console.banner(
            report, username=SIGN_IN_USER, password=password, webhook_url=receiver.url,
            logs=str(directory.log_dir),
        ):  # fmt: skip
            echo(line)

        publisher = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="millwright-demo-mes")
        publisher.connect(host, int(port))
        publisher.loop_start()
        cleanup.callback(publisher.disconnect)
        cleanup.callback(publisher.loop_stop)
        command_topic = demo_settings.sim.mqtt_command_topic.format(
            prefix=demo_settings.sim.mqtt_topic_prefix, line="", machine=""
        )
        order_every = options.order_every_hours * 3600
        next_orders = live.timestamp() + order_every
        while next_orders <= scored_from.timestamp():
            next_orders += order_every
        last_status = 0.0
        replanned_for, replanned_at = 0, 0.0
        past: threading.Thread | None = None
        past_outcome: list[tuple[PastReplay | None, BaseException | None]] = []

        def past_done(result: PastReplay | None, error: BaseException | None) -> None:
            past_outcome.append((result, error))

        outcomes_url = f"{report.dashboard_url}outcomes"
        at_risk = console.AtRisk(  # what the tiles call warning or worse
            demo_settings.dashboard.warning_p_fail, demo_settings.dashboard.warning_rul_low_h
        )
        try:
            while True:
                _wait_for(lambda: False, stop, services, 1.0, "", quiet_timeout=True)
                now = _plant_now(database)
                if now is None:
                    continue
                report.plant_time = now
                if now.timestamp() >= next_orders:
                    mes.submit_orders(now)
                    next_orders += order_every
                # The maintenance team's pager asks for a plan: a machine newly at risk need not
                # wait for the worker's replanning cadence to get its maintenance.
                paged = sum(1 for r in receiver.received if r.payload.get("type") in PAGES)
                if paged > replanned_for and time.monotonic() - replanned_at > 3.0:
                    mes.request_plan()
                    replanned_for, replanned_at = paged, time.monotonic()
                plan = mes.current_plan()
                if plan is not None:
                    mes.report_progress(plan, now)
                    mes.forward_maintenance(plan, publisher, command_topic, now)
                if report.seconds_to_first_scores is None and _scored_since(database, scored_from):
                    report.seconds_to_first_scores = round(time.monotonic() - began, 1)
                tasks = console.current_maintenance_machines(database)
                if report.seconds_to_risk_plan is None and tasks:
                    seconds = report.seconds_to_risk_plan = round(time.monotonic() - began, 1)
                    echo(f"a plan with risk-driven maintenance after {seconds} s")
                    echo(console.look_first(database, report.dashboard_url))
                if report.seconds_to_risk_plan is not None:
                    report.watch.add(
                        at_risk.machines(console.risks_to_answer(database)), tasks, now
                    )
                    if past is None and not saved.past_replayed:
                        past = replay_in_background(
                            database, demo_settings, start, train_from, live, stop, past_done
                        )
                if past_outcome:
                    replayed, error = past_outcome.pop()
                    if replayed is not None:
                        saved = replace(saved, past_replayed=True)
                        directory.save_state(saved)
                        report.past_alerts = replayed.alerts
                        report.seconds_to_past_scored = round(time.monotonic() - began, 1)
                        echo(f"{replayed.describe()}; the Outcomes page: {outcomes_url}")
                    else:
                        echo(f"the recorded past could not be scored ({error}); the demo goes on")
                if watch is not None:
                    watch(report)
                if time.monotonic() - last_status > 10:
                    last_status = time.monotonic()
                    echo(console.status_line(database, now, len(receiver.received), at_risk))
                if options.live_hours is not None and (now - live).total_seconds() >= (
                    options.live_hours * 3600
                ):
                    report.stopped_by = "hours"
                    break
        except DemoStopped:
            report.stopped_by = "stop"
        report.orders_submitted = mes.submitted
        report.webhooks_received = len(receiver.received)
        report.counts = console.counts(database)
        report.maintenance_done = console.live_events(database, live, "maintenance")
        report.failures = console.live_events(database, live, "failure")
        report.maintenance_in_current_plan = console.current_maintenance(database)
        report.tasks_per_plan = console.maintenance_per_plan(database, live)
        if report.stopped_by == "hours":
            echo("stopping…")


def _database_url(
    settings: Settings,
    directory: DemoDirectory,
    options: DemoOptions,
    cleanup: contextlib.ExitStack,
    echo: Echo,
) -> str:
    """The embedded server in the data directory (kept across restarts unless ``--fresh``),
    or the configured database, tried first so a wrong URL is one line in seconds."""
    if settings.database_url is not None:
        check_reachable(settings.database_url)
        return settings.database_url
    embedded = EmbeddedPostgres(directory.data_dir / "postgres", database="millwright_demo")
    url = embedded.start(fresh=options.fresh)
    cleanup.callback(embedded.stop)
    echo(f"embedded PostgreSQL in {directory.data_dir / 'postgres'}")
    return url


def _resumable(state: DemoState | None, database: Database, url: str) -> DemoState | None:
    """The saved state when this database still holds that demo's plant and model."""
    if state is None or state.database != url:
        return None
    from models.registry import active_version

    if _plant_now(database) is None or active_version(database) is None:
        return None
    return state


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event, echo: Echo) -> Iterator[None]:
    """SIGINT/SIGTERM set ``stop`` and say "stopping…" at once; the caller's handlers return
    when the demo ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(*_: object) -> None:
        if not stop.is_set():
            with contextlib.suppress(RuntimeError):  # a print interrupted mid-write
                echo("stopping…")
        stop.set()

    for sig in saved:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, previous in saved.items():
            signal.signal(sig, previous)


def _checkpoint(stop: threading.Event) -> Callable[[], None]:
    def check() -> None:
        if stop.is_set():
            raise DemoStopped("stopped")

    return check


def _in_thread(work: Callable[[], Any], stop: threading.Event, services: ServiceGroup) -> Any:
    """Run ``work`` in a daemon thread while watching the children and ``stop``.

    On stop the main thread returns at once (the work stops at its next checkpoint, or dies
    with the process), so Ctrl-C never waits for a long computation."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="demo-work", daemon=True)
    thread.start()
    _wait_for(lambda: not thread.is_alive(), stop, services, None, "")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def _wait_for(
    done: Callable[[], bool],
    stop: threading.Event,
    services: ServiceGroup,
    timeout: float | None,
    what: str,
    *,
    quiet_timeout: bool = False,
) -> None:
    """Poll ``done`` four times a second; a dead child raises :class:`DemoFailed` with its one
    line, ``stop`` raises :class:`DemoStopped`."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        if stop.is_set():
            raise DemoStopped("stopped")
        failed = services.failed()
        if failed:
            raise DemoFailed(failed[0].describe_exit())
        if done():
            return
        if deadline is not None and time.monotonic() > deadline:
            if quiet_timeout:
                return
            raise DemoFailed(f"{what} did not answer within {timeout:.0f} s")
        stop.wait(0.25)


def _api_answers(api_url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    return False


def _plant_now(database: Database) -> datetime | None:
    rows = database.execute("SELECT max(ts) FROM readings")
    return rows[0][0] if rows and rows[0][0] else None


def _scored_since(database: Database, since: datetime) -> bool:
    rows = database.execute("SELECT EXISTS (SELECT 1 FROM risk_scores WHERE ts > %s)", (since,))
    return bool(rows[0][0])


def _jobs_so_far(database: Database) -> int:
    return int(database.execute("SELECT count(*) FROM jobs")[0][0])
