"""A small seeded plant shared by the service and API tests (no tests of its own).

Three machines, M3 with a risk score whose `rul_low` falls inside the plan horizon, and a way
to add jobs with plain SQL so the service tests do not depend on the API.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn

from millwright.core.storage.database import Database
from scheduler.config import SchedulerConfig
from tests.support.postgres_proc import free_port

NOW = datetime(2030, 1, 7, 6, 0, tzinfo=UTC)

# Short limits keep the suite fast; the plant is small enough to solve optimally anyway.
CONFIG = SchedulerConfig(
    time_limit_s=5.0, horizon_hours=24, frozen_minutes=30, crew_size=1,
    maintenance_duration=60, worker_poll_s=0.05,
)  # fmt: skip


def seed_machines(
    database: Database, names: tuple[str, ...] = ("M1", "M2", "M3")
) -> dict[str, int]:
    ids = {}
    for name in names:
        rows = database.execute(
            "INSERT INTO machines (name, line) VALUES (%s, 'L1') RETURNING id", (name,)
        )
        ids[name] = int(rows[0][0])
    return ids


def seed_risk(
    database: Database,
    machine_id: int,
    *,
    p_fail: float = 0.4,
    rul_low_hours: float | None = 5.0,
    at: datetime = NOW,
) -> None:
    database.execute(
        "INSERT INTO risk_scores (ts, machine_id, model_version, horizon_hours, p_fail, rul,"
        " rul_low, top_features) VALUES (%s, %s, 'v1', 24, %s, %s, %s, %s)",
        (at, machine_id, p_fail, None if rul_low_hours is None else rul_low_hours * 2,
         rul_low_hours, '[{"feature": "vibration_rms", "weight": 0.7}]'),
    )  # fmt: skip


def seed_job(
    database: Database,
    external_id: str,
    routing: list[dict[int, int]],
    *,
    release: datetime = NOW,
    due: datetime = NOW + timedelta(hours=8),
    value: float = 1.0,
) -> int:
    """A job whose step i may run on routing[i] (machine id -> duration in seconds)."""
    rows = database.execute(
        "INSERT INTO jobs (external_id, release_at, due_at, value) VALUES (%s, %s, %s, %s)"
        " RETURNING id",
        (external_id, release, due, value),
    )
    job_id = int(rows[0][0])
    for seq, options in enumerate(routing):
        op = database.execute(
            "INSERT INTO operations (job_id, seq, name) VALUES (%s, %s, %s) RETURNING id",
            (job_id, seq, f"step {seq}"),
        )
        for machine_id, duration in options.items():
            database.execute(
                "INSERT INTO operation_options (operation_id, machine_id, duration_s)"
                " VALUES (%s, %s, %s)",
                (op[0][0], machine_id, duration),
            )
    return job_id


def seed_long_plant(database: Database, now: datetime) -> int:
    """Six machines and 60 jobs of four two-machine steps released at `now`: large enough that
    the solver searches for a whole 60 s limit. Returns the number of operations."""
    import random

    rng = random.Random(5)
    ids = seed_machines(database, tuple(f"M{i}" for i in range(6)))
    machines = list(ids.values())
    for j in range(60):
        routing = [{m: rng.randint(10, 60) * 60 for m in rng.sample(machines, 2)} for _ in range(4)]
        due = now + timedelta(hours=rng.randint(4, 20))
        seed_job(database, f"J{j:02d}", routing, release=now, due=due)
    return 240


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` under uvicorn on a free port in a thread; yields its base URL."""
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=free_port(),
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(10)
