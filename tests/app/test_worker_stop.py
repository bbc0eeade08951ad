"""The worker's stop (what SIGTERM sets) reaches a solve in progress: a 60 s solve ends with
its best plan stored, well under its limit, and the runner stops."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from millwright.app.settings import load_settings
from millwright.app.worker import worker_tasks
from millwright.core.service_runner import ServiceRunner
from millwright.core.storage.database import Database
from scheduler import service
from tests.scheduler.plant import seed_long_plant


def test_stopping_the_worker_ends_its_solve_with_a_stored_plan(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    seed_long_plant(database, datetime.now(UTC))
    record = service.request_schedule(database, "alice", time_limit_s=60)
    settings = load_settings(
        database_url=database_url,
        data_dir=str(tmp_path),
        worker={"roles": ["replan"], "solve_poll_s": 0.2, "health_port": 0},
    )
    stop = threading.Event()  # as `run_worker` wires it: SIGTERM sets the runner's event
    runner = ServiceRunner(worker_tasks(settings, database, stop=stop), stop_event=stop)
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while service.get_schedule(database, record.id).state != "solving":  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the worker never claimed the request"
            time.sleep(0.05)
        time.sleep(1.0)
    finally:
        stopped = time.monotonic()
        runner.stop(timeout=30)
    assert time.monotonic() - stopped < 20
    done = service.get_schedule(database, record.id)
    assert done is not None and done.state == "done", done
    assert done.solver_status != "optimal"  # stopped, not finished
