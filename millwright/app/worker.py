"""``millwright worker``: features, scoring, alerts and rescheduling on their cadences.

Composition only: each task calls one stage's public function; the stages never call each
other. With ``worker.clock = "data"`` the worker's "now" is the newest reading, so a replayed
or accelerated plant is planned in its own time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from millwright.app.settings import Settings
from millwright.core.service_runner import PeriodicTask, ServiceRunner
from millwright.core.storage.database import Database

log = logging.getLogger(__name__)


def plant_now(settings: Settings, database: Database) -> Callable[[], datetime]:
    """The clock the worker plans by: the plant clock (`millwright.core.clock`)."""
    return settings.plant_clock(database).now


def worker_tasks(settings: Settings, database: Database) -> list[PeriodicTask]:
    """One periodic task per stage, in data-flow order."""
    from alerts.dispatcher import Dispatcher
    from alerts.service import evaluate_latest
    from features.jobs import FeatureJob
    from models.registry import NoActiveModelError
    from models.scoring import score_latest
    from scheduler.service import claim_next, request_schedule, solve_schedule, worker_name

    config = settings.worker
    clock = plant_now(settings, database)
    jobs: dict[str, FeatureJob] = {}
    dispatcher = Dispatcher(database, settings.alerts)
    me = worker_name()

    def features() -> None:
        if "job" not in jobs:
            jobs["job"] = FeatureJob(database, settings.features)
        result = jobs["job"].run()
        if result.written:
            log.info("features: %d new rows through %s", result.written, result.through)

    def score() -> None:
        try:
            score_latest(database, settings.models)
        except NoActiveModelError:
            log.info("no active model yet: train one with `millwright train --promote`")

    def alerts() -> None:
        evaluate_latest(database, settings.alerts, public_url=settings.public_url, now=clock())
        dispatcher.dispatch_due()

    def reschedule() -> None:
        request_schedule(database, requested_by="worker")

    def solve() -> None:
        while (schedule_id := claim_next(database, me)) is not None:
            record = solve_schedule(database, settings.scheduler, schedule_id, now=clock())
            log.info("plan %s: %s (%s)", record.id, record.state, record.solver_status)

    return [
        PeriodicTask("features", config.features_every_s, features),
        PeriodicTask("score", config.score_every_s, score),
        PeriodicTask("alerts", config.alerts_every_s, alerts),
        PeriodicTask("reschedule", config.reschedule_every_s, reschedule),
        PeriodicTask("solve", config.solve_poll_s, solve),
    ]


def run_worker(settings: Settings, database: Database) -> None:
    """Run every task until SIGTERM or SIGINT."""
    runner = ServiceRunner(
        worker_tasks(settings, database), health_port=settings.worker.health_port or None
    )
    runner.run_until_signalled()
