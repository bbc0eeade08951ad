"""/events and /machines/{name}/downtime: failures, repairs, maintenance, inspections and
downtime windows from the CMMS and the MES."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from api import events
from api.auth import Reader, ShopFloor
from api.routers.common import DB, ERRORS, IdempotencyKey, IdPath, MachinePath
from api.schemas import (
    DowntimeCreate,
    DowntimePublic,
    EventBatch,
    EventCreate,
    EventKind,
    EventPublic,
    QueryDatetime,
)

router = APIRouter(tags=["events"], responses=ERRORS)


@router.post("/events", status_code=201, dependencies=[IdempotencyKey])
def create_events(
    body: Annotated[EventCreate | EventBatch, Body()], db: DB, user: ShopFloor
) -> list[EventPublic]:
    """Record one event or a batch (planner or maintenance); the same event (or work order)
    twice is stored once (`created: false`). A failure or downtime queues a replan."""
    return events.create_events(db, body, user.username)


@router.get("/events")
def list_events(
    db: DB,
    user: Reader,
    machine: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    kind: Annotated[EventKind | None, Query()] = None,
    start: Annotated[QueryDatetime | None, Query(alias="from", description="Inclusive.")] = None,
    end: Annotated[QueryDatetime | None, Query(alias="to", description="Exclusive.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[EventPublic]:
    """Events in time order, filtered by machine, kind and [from, to)."""
    return events.list_events(db, machine=machine, kind=kind, start=start, end=end, limit=limit)


@router.post("/machines/{name}/downtime", status_code=201, dependencies=[IdempotencyKey])
def create_downtime(
    name: MachinePath, body: DowntimeCreate, db: DB, user: ShopFloor
) -> DowntimePublic:
    """A breakdown or a planned stop: the scheduler keeps work off the machine in that
    window from the next plan on (a replan is queued)."""
    return events.create_downtime(db, name, body, user.username)


@router.delete("/machines/{name}/downtime/{downtime_id}", status_code=204)
def delete_downtime(name: MachinePath, downtime_id: IdPath, db: DB, user: ShopFloor) -> Response:
    """Withdraw a downtime that has not begun (409 once it has)."""
    events.delete_downtime(db, name, downtime_id, user.username)
    return Response(status_code=204)
