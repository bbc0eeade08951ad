"""/health: unauthenticated liveness for load balancers and compose health checks."""

from __future__ import annotations

from fastapi import APIRouter

from api.errors import ApiError
from api.routers.common import DB, ERRORS
from api.schemas import Health

router = APIRouter(tags=["health"], responses=ERRORS)


@router.get("/health")
def health(db: DB) -> Health:
    if db.execute("SELECT 1") != [(1,)]:
        raise ApiError("the database answered oddly", code="unavailable")
    return Health(status="ok", database=True)
