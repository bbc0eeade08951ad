"""/schedules: ask for a (re)schedule, then follow it until done or failed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

import scheduler
from api import plans
from api.auth import Planner, Reader
from api.routers.common import DB, ERRORS, IdempotencyKey, IdPath
from api.schemas import SchedulePublic, ScheduleRequest

router = APIRouter(prefix="/schedules", tags=["schedules"], responses=ERRORS)


@router.post("", status_code=202, dependencies=[IdempotencyKey])
def request_schedule(
    db: DB, user: Planner, body: Annotated[ScheduleRequest | None, Body()] = None
) -> SchedulePublic:
    """Queue a (re)schedule from the current jobs, risks and plan (planner). A worker
    (`millwright schedule run`) solves it; poll GET /schedules/{id}. A request still waiting
    with the same time limit is returned instead of queuing a duplicate."""
    limit = body.time_limit_s if body else None
    return plans.schedule_public(scheduler.request_schedule(db, user.username, limit))


@router.get("")
def list_schedules(
    db: DB,
    user: Reader,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[SchedulePublic]:
    return [plans.schedule_public(r) for r in scheduler.list_schedules(db, limit, offset)]


@router.get("/{schedule_id}")
def get_schedule(schedule_id: IdPath, db: DB, user: Reader) -> SchedulePublic:
    return plans.read_schedule(db, schedule_id)
