"""Risk-aware production and maintenance planning.

Owns the pure scheduling model (`problem` in, `plan` out, CP-SAT backend in `cpsat/`), how a
problem is settled before solving so disruptions never cost the whole plan (`settle`), the
dispatching rules (warm start, fallback and baseline), the hard-rule check (`validate`),
shop-floor disruptions as problem edits (`disruption`), orders and their state machine, and
solve orchestration with the plan status the API and dashboard show (`plan_status`: degraded
to dispatch, stale after a failed request). The MES HTTP API is `api/`; benchmarks are in
`bench/`.

The face: other packages import only the names in ``__all__`` (``from scheduler import X``);
each is imported on first use (:mod:`millwright.core.face`).
"""

import typing

import millwright.core.face as _face

if typing.TYPE_CHECKING:
    from scheduler.config import SchedulerConfig
    from scheduler.service import (
        PlanStatus,
        ScheduleRecord,
        claim_next,
        get_schedule,
        list_schedules,
        plan_status,
        request_schedule,
        run_worker,
        solve_schedule,
        worker_name,
    )

_FACE = {
    "PlanStatus": "scheduler.service",
    "ScheduleRecord": "scheduler.service",
    "SchedulerConfig": "scheduler.config",
    "claim_next": "scheduler.service",
    "get_schedule": "scheduler.service",
    "list_schedules": "scheduler.service",
    "plan_status": "scheduler.service",
    "request_schedule": "scheduler.service",
    "run_worker": "scheduler.service",
    "solve_schedule": "scheduler.service",
    "worker_name": "scheduler.service",
}

__all__ = [
    "PlanStatus",
    "ScheduleRecord",
    "SchedulerConfig",
    "claim_next",
    "get_schedule",
    "list_schedules",
    "plan_status",
    "request_schedule",
    "run_worker",
    "solve_schedule",
    "worker_name",
]

__getattr__, __dir__ = _face.lazy_face(__name__, _FACE)
