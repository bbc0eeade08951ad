"""Jobs and their operations over HTTP: thin functions over the scheduler's order state machine.

The rules (what may change when) live in :mod:`scheduler.orders`; here its records become the
API's schemas and its refusals HTTP errors: `OrderNotFound` 404, `OrderConflict` 409 and
`OrderInvalid` 422, keeping their codes, with each field's `loc` under ``body.``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import scheduler
from api.errors import ApiError, Conflict, Invalid, NotFound
from api.schemas import (
    JobCreate,
    JobList,
    JobPublic,
    JobUpdate,
    OperationFinish,
    OperationStart,
    OperationUpdate,
    RoutingIn,
)
from millwright.core.storage.database import Database
from scheduler import CLOCK_SKEW, Order, OrderConflict, OrderError, OrderInvalid, OrderNotFound

_STATUS: dict[type[OrderError], Callable[..., ApiError]] = {
    OrderNotFound: NotFound,
    OrderConflict: Conflict,
    OrderInvalid: Invalid,
}


@contextmanager
def _as_http() -> Iterator[None]:
    try:
        yield
    except OrderError as exc:
        error = next(e for kind, e in _STATUS.items() if isinstance(exc, kind))
        details = [
            {"loc": f"body.{p.loc}", "message": p.message, "type": p.kind} for p in exc.details
        ]
        code = None if exc.code == type(exc).code else exc.code  # a default: the API's own
        raise error(exc.message, code=code, details=details) from None


def _public(order: Order) -> JobPublic:
    return JobPublic.model_validate(order)


def create_job(database: Database, body: JobCreate) -> JobPublic:
    with _as_http():
        return _public(scheduler.create_order(database, body))


def get_job(database: Database, external_id: str) -> JobPublic:
    with _as_http():
        return _public(scheduler.get_order(database, external_id))


def list_jobs(database: Database, status: str | None, limit: int, offset: int) -> JobList:
    page = scheduler.list_orders(database, status, limit, offset)
    return JobList(items=[_public(o) for o in page.items], total=page.total)


def update_job(database: Database, external_id: str, body: JobUpdate) -> JobPublic:
    with _as_http():
        return _public(scheduler.update_order(database, external_id, body))


def cancel_job(database: Database, external_id: str) -> JobPublic:
    with _as_http():
        return _public(scheduler.cancel_order(database, external_id))


def replace_routing(database: Database, external_id: str, body: RoutingIn) -> JobPublic:
    with _as_http():
        return _public(scheduler.replace_routing(database, external_id, body))


def update_operation(
    database: Database, external_id: str, seq: int, body: OperationUpdate
) -> JobPublic:
    with _as_http():
        return _public(scheduler.update_step(database, external_id, seq, body))


def cancel_operation(database: Database, external_id: str, seq: int) -> JobPublic:
    with _as_http():
        return _public(scheduler.cancel_step(database, external_id, seq))


def start_operation(
    database: Database,
    external_id: str,
    seq: int,
    body: OperationStart,
    *,
    max_skew: timedelta = CLOCK_SKEW,
) -> JobPublic:
    with _as_http():
        order = scheduler.start_step(
            database, external_id, seq, body.machine, body.at, max_skew=max_skew
        )
        return _public(order)


def finish_operation(
    database: Database,
    external_id: str,
    seq: int,
    body: OperationFinish,
    *,
    max_skew: timedelta = CLOCK_SKEW,
) -> JobPublic:
    with _as_http():
        return _public(
            scheduler.finish_step(database, external_id, seq, body.at, max_skew=max_skew)
        )
