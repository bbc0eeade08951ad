"""A short demo, end to end: simulator → collectors → database → features → model → alerts →
scheduler → API, every service a real child process, on a database and broker of its own."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from millwright.app.demo.console import DemoReport
from millwright.app.demo.plant import DemoOptions
from millwright.app.demo.run import run_demo
from millwright.app.settings import load_settings
from millwright.core.broker import free_port
from millwright.core.commands import AppContext
from millwright.core.storage.database import Database


@pytest.fixture
def demo_database(postgres_admin_url: str) -> Iterator[str]:
    name = f"mw_demo_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(postgres_admin_url)
    params["dbname"] = name
    try:
        yield make_conninfo("", **params)
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_short_demo_produces_every_stage(demo_database: str, tmp_path: Path) -> None:
    url = demo_database if demo_database.startswith("postgresql://") else None
    settings = load_settings(database_url=url or _as_url(demo_database), data_dir=tmp_path)
    options = DemoOptions(
        machines=9,
        lines=3,
        seed=7,
        speed=1800.0,
        history_days=17.0,
        train_days=7.0,
        api_port=free_port(),
        dashboard_port=free_port(),
    )
    stop = threading.Event()
    outcomes: dict[str, Any] = {}

    def watch(report: DemoReport) -> None:
        """24 plant hours live, and the recorded past scored: then the Outcomes API is read."""
        live = report.live_from
        if report.past_alerts is None or report.plant_time is None or live is None:
            return
        if report.plant_time - live < timedelta(hours=24):
            return
        response = httpx.get(
            f"{report.api_url}/outcomes",
            params={"from": (live - timedelta(days=16)).isoformat(),
                    "to": report.plant_time.isoformat()},
            headers={"Authorization": f"Bearer {report.token}"},
            timeout=60,
        )  # fmt: skip
        outcomes["status"] = response.status_code
        outcomes["body"] = response.json()
        stop.set()

    timer = threading.Timer(600, stop.set)  # a broken demo fails the test instead of hanging
    timer.start()
    try:
        report = run_demo(AppContext(settings=settings), options, stop, watch=watch)
    finally:
        timer.cancel()

    counts = report.counts
    assert counts["features"] > 0
    assert counts["risk_scores"] > 9, "the worker scored the live plant"
    assert counts["alerts"] >= 1
    assert report.webhooks_received >= 1, "a signed alert reached the maintenance team"
    assert counts["dead_letters"] == 0
    database = Database(settings.database_url or "", min_size=1, max_size=1)
    try:
        rows = database.execute(
            "SELECT a.reason FROM schedule_assignments a JOIN schedules s ON s.id = a.schedule_id"
            " WHERE a.kind = 'maintenance'"
        )
        sources = database.execute("SELECT DISTINCT source FROM dead_letters")
        live = database.execute(
            "SELECT count(DISTINCT machine_id), count(*) FROM readings WHERE ts > %s",
            (report.live_from,),
        )
    finally:
        database.close()
    assert rows, "a plan contains a risk-driven maintenance task"
    assert all(r[0] for r in rows), "every maintenance task says which risk caused it"
    assert sources == []
    machines, readings = live[0]
    assert machines >= 6, "both MQTT and OPC-UA lines deliver live readings"
    assert readings > 1000
    # A demo worth watching: after the first plan machines are at risk and the plan maintains
    # them, and only them, not the whole plant. "At risk" is what the plan answers: a machine
    # down, or back from maintenance since its last score, is not (its tile says DOWN). The
    # plan answers a replan later, so the test bounds how long a machine waited at risk with no
    # task: less than the warning window (12 plant hours, its low-estimate life). `bench demo`
    # measures the every-moment fractions. On a busy host the plant runs ahead of the loop and
    # more machines are at risk at once (6 of 9 seen with two CPU hogs beside the test).
    seen = report.watch
    assert seen.samples >= 5
    assert seen.with_at_risk >= 1 and seen.with_task / seen.samples >= 0.5, seen.as_dict()
    assert seen.longest_wait_h < options.cast_window_hours, seen.as_dict()
    plans = report.tasks_per_plan
    assert plans and sum(1 for tasks in plans if tasks == 0) <= max(2, len(plans) // 10), plans
    assert max(plans) < options.machines and sum(plans) / len(plans) <= options.machines / 2, plans
    print(f"\nseconds to a plan with risk-driven maintenance: {report.seconds_to_risk_plan}")

    # The Outcomes API over the recorded past and the live day: a non-trivial period.
    assert outcomes.get("status") == 200, outcomes
    (plant,) = outcomes["body"]["figures"]
    assert plant["failures"] >= 5, plant
    assert plant["recall"] and plant["recall"] > 0, "some failure was preceded by an alert"
    assert plant["lead_time_median_hours"] and plant["lead_time_median_hours"] > 0
    assert plant["alerts"] > plant["failures"] / 2, "the past's alerts are there"
    assert plant["false_alarm_rate"] is not None
    assert plant["maintenance_done"] >= 1, "the live plan's maintenance happened"
    assert plant["costs"]["total"] > 0 and plant["costs"]["repairs"] > 0
    cf = outcomes["body"]["counterfactual"]
    assert cf is not None and cf["reactive"]["low"] <= cf["reactive"]["high"]


def _as_url(conninfo: str) -> str:
    params = conninfo_to_dict(conninfo)
    user, host = params.get("user", "postgres"), params.get("host", "127.0.0.1")
    return f"postgresql://{user}@{host}:{params.get('port', 5432)}/{params['dbname']}"
