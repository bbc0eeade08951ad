"""/plan: the current plan, whole, as one machine's dispatch list, or for one job."""

from __future__ import annotations

from fastapi import APIRouter

from api import plans
from api.auth import Reader
from api.routers.common import DB, ERRORS, ExternalIdPath, MachinePath
from api.schemas import JobPlanPublic, MachineDispatch, PlanPublic

router = APIRouter(prefix="/plan", tags=["plan"], responses=ERRORS)


@router.get("")
def current_plan(db: DB, user: Reader) -> PlanPublic:
    return plans.current_plan(db)


@router.get("/machines/{name}")
def machine_dispatch(name: MachinePath, db: DB, user: Reader) -> MachineDispatch:
    """What this machine runs next, in order, with maintenance and the risk behind it."""
    return plans.machine_dispatch(db, name)


@router.get("/jobs/{external_id}")
def job_plan(external_id: ExternalIdPath, db: DB, user: Reader) -> JobPlanPublic:
    """Where and when each step of the job runs, and its planned completion and lateness."""
    return plans.job_plan(db, external_id)
