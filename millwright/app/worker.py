"""``millwright worker``: features, scoring, alerts and rescheduling on their cadences.

Composition only: each task calls one stage's public function; the stages never call each
other. With ``worker.clock = "data"`` the worker's "now" is the newest reading, so a replayed
or accelerated plant is planned in its own time.

Any number of workers share the work through leases in the database
(:mod:`millwright.core.leases`): features and scoring by machine partition, alerts by
production line, the replan request for the whole plant (solving takes queued plans with
``SKIP LOCKED``). ``worker --role features,score`` gives a process only those duties. One
worker alone holds every partition, which is the single-process behaviour.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from millwright.app.settings import Settings
from millwright.core.leases import (
    LeaseSet,
    lines_of,
    machine_partitions,
    machines_in,
    machines_on_lines,
)
from millwright.core.service_runner import PeriodicTask, ServiceRunner
from millwright.core.storage.database import Database

log = logging.getLogger(__name__)


def plant_now(settings: Settings, database: Database) -> Callable[[], datetime]:
    """The clock the worker plans by: the plant clock (`millwright.core.clock`)."""
    return settings.plant_clock(database).now


class WorkerLeases:
    """This worker's leases, one set per role, renewed by the ``leases`` task."""

    def __init__(self, settings: Settings, database: Database, worker: str) -> None:
        config = settings.worker
        self._database = database
        self.partitions = config.partitions
        self.roles: dict[str, LeaseSet] = {
            str(role): LeaseSet(database, worker, role, config.lease_s)
            for role in config.roles
            if role in {"features", "score", "alerts", "replan"}
        }

    def partition_names(self, role: str) -> list[str]:
        if role in {"features", "score"}:
            return machine_partitions(self.partitions)
        if role == "alerts":
            return lines_of(self._database)
        return ["plant"]

    def heartbeat(self) -> None:
        for role, leases in self.roles.items():
            leases.heartbeat(self.partition_names(role))

    def held(self, role: str) -> frozenset[str]:
        leases = self.roles[role]
        if not leases.held:  # first use, before the leases task ran: claim now
            leases.heartbeat(self.partition_names(role))
        return leases.held

    def machines(self, role: str) -> list[int]:
        held = sorted(self.held(role))
        if role == "alerts":
            return machines_on_lines(self._database, held)
        return machines_in(self._database, held, self.partitions)

    def release(self) -> None:
        for leases in self.roles.values():
            leases.release_all()


def worker_tasks(
    settings: Settings,
    database: Database,
    leases: WorkerLeases | None = None,
    stop: threading.Event | None = None,
) -> list[PeriodicTask]:
    """One periodic task per duty of this worker, in data-flow order, plus the heartbeat.

    `stop` is the runner's stop event: a solve in progress ends early when it is set (with
    the best plan found, stored), and no further request is claimed."""
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
    leases = leases or WorkerLeases(settings, database, me)

    def features() -> None:
        machines = leases.machines("features")
        if not machines:
            return
        if "job" not in jobs:
            jobs["job"] = FeatureJob(database, settings.features)
        result = jobs["job"].run(machines=machines)
        if result.written:
            log.info("features: %d new rows through %s", result.written, result.through)

    def score() -> None:
        machines = leases.machines("score")
        if not machines:
            return
        try:
            score_latest(database, settings.models, machine_ids=machines)
        except NoActiveModelError:
            log.info("no active model yet: train one with `millwright train --promote`")

    def alerts() -> None:
        machines = leases.machines("alerts")
        if machines:
            evaluate_latest(
                database,
                settings.alerts,
                public_url=settings.public_url,
                now=clock(),
                machine_ids=machines,
            )
        dispatcher.dispatch_due()  # deliveries are claimed one by one with their own lease

    def reschedule() -> None:
        if leases.held("replan"):
            request_schedule(database, requested_by="worker")

    def solve() -> None:
        while stop is None or not stop.is_set():
            schedule_id = claim_next(database, me)
            if schedule_id is None:
                break
            record = solve_schedule(
                database, settings.scheduler, schedule_id, now=clock(), stop=stop
            )
            log.info("plan %s: %s (%s)", record.id, record.state, record.solver_status)

    tasks = [PeriodicTask("leases", max(config.lease_s / 3, 0.2), leases.heartbeat)]
    roles = set(config.roles)
    if "features" in roles:
        tasks.append(PeriodicTask("features", config.features_every_s, features))
    if "score" in roles:
        tasks.append(PeriodicTask("score", config.score_every_s, score))
    if "alerts" in roles:
        tasks.append(PeriodicTask("alerts", config.alerts_every_s, alerts))
    if "replan" in roles:
        tasks.append(PeriodicTask("reschedule", config.reschedule_every_s, reschedule))
        tasks.append(PeriodicTask("solve", config.solve_poll_s, solve))
    return tasks


def run_worker(settings: Settings, database: Database) -> None:
    """Run this worker's duties until SIGTERM or SIGINT; then hand its leases back."""
    from scheduler.service import worker_name

    leases = WorkerLeases(settings, database, worker_name())
    stop = threading.Event()  # SIGTERM sets it: a long solve returns its best plan and ends
    runner = ServiceRunner(
        worker_tasks(settings, database, leases, stop),
        health_port=settings.worker.health_port or None,
        stop_event=stop,
    )
    try:
        runner.run_until_signalled()
    finally:
        leases.release()
