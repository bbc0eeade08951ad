"""Risk-aware production and maintenance planning.

Owns the pure scheduling model (`problem` in, `plan` out, CP-SAT backend in `cpsat/`), the
dispatching rules, orders and their state machine, and solve orchestration. The MES HTTP API
is `api/`; benchmarks are in `bench/`.

The face: other packages import only the names in ``__all__`` (``from scheduler import X``);
each is imported on first use (:mod:`millwright.core.face`).
"""

import typing

import millwright.core.face as _face

if typing.TYPE_CHECKING:
    from scheduler.config import SchedulerConfig
    from scheduler.service import (
        ScheduleRecord,
        claim_next,
        get_schedule,
        list_schedules,
        request_schedule,
        run_worker,
        solve_schedule,
        worker_name,
    )

_FACE = {
    "ScheduleRecord": "scheduler.service",
    "SchedulerConfig": "scheduler.config",
    "claim_next": "scheduler.service",
    "get_schedule": "scheduler.service",
    "list_schedules": "scheduler.service",
    "request_schedule": "scheduler.service",
    "run_worker": "scheduler.service",
    "solve_schedule": "scheduler.service",
    "worker_name": "scheduler.service",
}

__all__ = [
    "ScheduleRecord",
    "SchedulerConfig",
    "claim_next",
    "get_schedule",
    "list_schedules",
    "request_schedule",
    "run_worker",
    "solve_schedule",
    "worker_name",
]

__getattr__, __dir__ = _face.lazy_face(__name__, _FACE)
