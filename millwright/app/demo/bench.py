"""``millwright bench demo`` (registered by :mod:`millwright.app.demo.bench_cli`): how long a
newcomer waits, measured on the real demo.

The demo runs in a temporary data directory with the embedded database (nothing configured,
as on a first run) until its first risk-driven plan, then stops. Reported: seconds from the
start to the URLs, to the first scores of the live plant and to the first plan with
risk-driven maintenance, the demo's own training step (while its services start beside it),
and, after the demo, the same training step run alone on the same database.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from millwright.app.demo.console import DemoReport
from millwright.app.demo.model import train_initial_model
from millwright.app.demo.plant import DemoOptions
from millwright.app.demo.run import run_demo
from millwright.app.demo.state import DemoDirectory
from millwright.app.settings import Settings, load_settings
from millwright.core.commands import AppContext
from millwright.core.embedded import EmbeddedPostgres
from millwright.core.storage.database import Database


def run_demo_benchmark(
    settings: Settings,
    *,
    machines: int = 12,
    history_days: float = 40.0,
    speed: float = 1800.0,
    timeout_s: float = 300.0,
    quiet: bool = True,
    plant_hours: float = 0.0,
) -> dict[str, Any]:
    """Run the demo from scratch to its first risk-driven plan; return the timings.

    ``plant_hours`` > 0 keeps the plant running that long after the first risk-driven plan
    and reports what a watcher saw (the share of once-a-second samples with a machine at
    risk and a risk-driven task in the plan, the tasks of each plan, failures, maintenance)."""
    root = Path(tempfile.mkdtemp(prefix="millwright-bench-demo-"))
    root.chmod(0o777)  # the embedded server may run as another user
    load = os.getloadavg()
    try:
        fresh = settings.model_copy(update={"database_url": None, "data_dir": root})
        stop = threading.Event()
        timer = threading.Timer(timeout_s, stop.set)
        timer.daemon = True
        timer.start()

        watched_from: list[Any] = []

        def watch(report: DemoReport) -> None:
            if report.seconds_to_risk_plan is None or not report.seconds_to_first_scores:
                return
            if not watched_from:
                watched_from.append(report.plant_time)
            if plant_hours <= 0 or (
                report.plant_time is not None
                and (report.plant_time - watched_from[0]).total_seconds() >= plant_hours * 3600
            ):
                stop.set()

        def echo(line: str) -> None:
            if not quiet:
                print(line, file=sys.stderr, flush=True)

        options = DemoOptions(
            machines=machines, history_days=history_days, speed=speed, data_dir=root
        )
        report = run_demo(AppContext(settings=fresh), options, stop, echo=echo, watch=watch)
        timer.cancel()
        train_alone = _train_alone(root)
        watched: dict[str, Any] = {}
        if plant_hours > 0:
            watched = {
                "plant_hours_watched": plant_hours,
                "watch": report.watch.as_dict(),
                "risk_tasks_per_plan": report.tasks_per_plan,
                "failures": report.failures,
                "maintenance_done": report.maintenance_done,
                "alerts": report.counts.get("alerts", 0),
                "orders_submitted": report.orders_submitted,
            }
        return {
            "seconds_to_urls": report.seconds_to_urls,
            "seconds_to_first_scores": report.seconds_to_first_scores,
            "seconds_to_risk_plan": report.seconds_to_risk_plan,
            "seconds_training_in_demo": report.seconds_training,
            "seconds_training_alone": train_alone,
            "machines": machines,
            "history_days": history_days,
            "speed": speed,
            "cpus": os.cpu_count(),
            "load_average_at_start": [round(x, 2) for x in load],
            "timed_out": report.seconds_to_risk_plan is None,
            **watched,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _train_alone(root: Path) -> float:
    """The demo's training step (backfill, train, promote, score) with nothing else running."""
    directory = DemoDirectory(root)
    state = directory.load_state()
    if state is None:
        raise RuntimeError(f"the demo left no state in {directory.path}")
    server = EmbeddedPostgres(root / "postgres", database="millwright_demo")
    url = server.start()
    try:
        demo_settings = load_settings(directory.config_path, database_url=url)
        database = Database(url, min_size=1, max_size=2)
        try:
            started = time.perf_counter()
            train_initial_model(database, demo_settings, state.train_from, state.live_from)
            return round(time.perf_counter() - started, 1)
        finally:
            database.close()
    finally:
        server.stop()
