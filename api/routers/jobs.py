"""/jobs: submit, read, update, cancel jobs and their steps; report steps from the floor."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from api import jobs
from api.auth import Planner, Reader, ShopFloor
from api.routers.common import DB, ERRORS, ExternalIdPath, IdempotencyKey, SeqPath
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

router = APIRouter(prefix="/jobs", tags=["jobs"], responses=ERRORS)
Status = Literal["pending", "in_progress", "done", "cancelled"]


@router.post("", status_code=201, dependencies=[IdempotencyKey])
def create_job(body: JobCreate, db: DB, user: Planner) -> JobPublic:
    """Submit a job with its routing (planner)."""
    return jobs.create_job(db, body)


@router.get("")
def list_jobs(
    db: DB,
    user: Reader,
    status: Annotated[Status | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JobList:
    return jobs.list_jobs(db, status, limit, offset)


@router.get("/{external_id}")
def get_job(external_id: ExternalIdPath, db: DB, user: Reader) -> JobPublic:
    return jobs.get_job(db, external_id)


@router.patch("/{external_id}")
def update_job(external_id: ExternalIdPath, body: JobUpdate, db: DB, user: Planner) -> JobPublic:
    """Change release, due date, weight or value of an open job (planner)."""
    return jobs.update_job(db, external_id, body)


@router.post("/{external_id}/cancel", dependencies=[IdempotencyKey])
def cancel_job(external_id: ExternalIdPath, db: DB, user: Planner) -> JobPublic:
    """Cancel the job and its unfinished steps (planner); repeating it is harmless."""
    return jobs.cancel_job(db, external_id)


@router.put("/{external_id}/operations")
def replace_routing(
    external_id: ExternalIdPath, body: RoutingIn, db: DB, user: Planner
) -> JobPublic:
    """Replace the whole routing while no step has started (planner)."""
    return jobs.replace_routing(db, external_id, body)


@router.patch("/{external_id}/operations/{seq}")
def update_operation(
    external_id: ExternalIdPath, seq: SeqPath, body: OperationUpdate, db: DB, user: Planner
) -> JobPublic:
    """Rename a pending step or change its eligible machines and durations (planner)."""
    return jobs.update_operation(db, external_id, seq, body)


@router.post("/{external_id}/operations/{seq}/cancel", dependencies=[IdempotencyKey])
def cancel_operation(external_id: ExternalIdPath, seq: SeqPath, db: DB, user: Planner) -> JobPublic:
    """Skip a pending step (planner)."""
    return jobs.cancel_operation(db, external_id, seq)


@router.post("/{external_id}/operations/{seq}/start", dependencies=[IdempotencyKey])
def start_operation(
    external_id: ExternalIdPath,
    seq: SeqPath,
    body: OperationStart,
    db: DB,
    user: ShopFloor,
    request: Request,
) -> JobPublic:
    """The shop floor started this step on a machine (planner or maintenance)."""
    return jobs.start_operation(db, external_id, seq, body, max_skew=_skew(request))


@router.post("/{external_id}/operations/{seq}/finish", dependencies=[IdempotencyKey])
def finish_operation(
    external_id: ExternalIdPath,
    seq: SeqPath,
    body: OperationFinish,
    db: DB,
    user: ShopFloor,
    request: Request,
) -> JobPublic:
    """The shop floor finished this step (planner or maintenance)."""
    return jobs.finish_operation(db, external_id, seq, body, max_skew=_skew(request))


def _skew(request: Request) -> timedelta:
    """How far ahead of the server's clock a reported time may be (shop-floor clock drift)."""
    return timedelta(seconds=request.app.state.scheduler_config.max_clock_skew_s)
