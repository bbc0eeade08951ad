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
    from scheduler.errors import (
        FieldProblem,
        OrderConflict,
        OrderError,
        OrderInvalid,
        OrderNotFound,
        SchedulerError,
    )
    from scheduler.orders import (
        CLOCK_SKEW,
        Order,
        OrderPage,
        Step,
        StepOption,
        cancel_order,
        cancel_step,
        create_order,
        finish_step,
        get_order,
        list_orders,
        replace_routing,
        start_step,
        update_order,
        update_step,
    )
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
    from scheduler.store import RiskRow, risks_the_plan_answers

_FACE = {
    "CLOCK_SKEW": "scheduler.orders",
    "FieldProblem": "scheduler.errors",
    "Order": "scheduler.orders",
    "OrderConflict": "scheduler.errors",
    "OrderError": "scheduler.errors",
    "OrderInvalid": "scheduler.errors",
    "OrderNotFound": "scheduler.errors",
    "OrderPage": "scheduler.orders",
    "PlanStatus": "scheduler.service",
    "RiskRow": "scheduler.store",
    "ScheduleRecord": "scheduler.service",
    "SchedulerConfig": "scheduler.config",
    "SchedulerError": "scheduler.errors",
    "Step": "scheduler.orders",
    "StepOption": "scheduler.orders",
    "cancel_order": "scheduler.orders",
    "cancel_step": "scheduler.orders",
    "claim_next": "scheduler.service",
    "create_order": "scheduler.orders",
    "finish_step": "scheduler.orders",
    "get_order": "scheduler.orders",
    "get_schedule": "scheduler.service",
    "list_orders": "scheduler.orders",
    "list_schedules": "scheduler.service",
    "replace_routing": "scheduler.orders",
    "plan_status": "scheduler.service",
    "request_schedule": "scheduler.service",
    "risks_the_plan_answers": "scheduler.store",
    "run_worker": "scheduler.service",
    "solve_schedule": "scheduler.service",
    "start_step": "scheduler.orders",
    "update_order": "scheduler.orders",
    "update_step": "scheduler.orders",
    "worker_name": "scheduler.service",
}

__all__ = [
    "CLOCK_SKEW",
    "FieldProblem",
    "Order",
    "OrderConflict",
    "OrderError",
    "OrderInvalid",
    "OrderNotFound",
    "OrderPage",
    "PlanStatus",
    "RiskRow",
    "ScheduleRecord",
    "SchedulerConfig",
    "SchedulerError",
    "Step",
    "StepOption",
    "cancel_order",
    "cancel_step",
    "claim_next",
    "create_order",
    "finish_step",
    "get_order",
    "get_schedule",
    "list_orders",
    "list_schedules",
    "plan_status",
    "replace_routing",
    "request_schedule",
    "risks_the_plan_answers",
    "run_worker",
    "solve_schedule",
    "start_step",
    "update_order",
    "update_step",
    "worker_name",
]

__getattr__, __dir__ = _face.lazy_face(__name__, _FACE)
