"""/alerts/{id}/ack: someone on the floor has seen a risk alert."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api import plant
from api.auth import ShopFloor
from api.routers.common import ERRORS, IdempotencyKey, IdPath
from api.schemas import AlertAck

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=ERRORS)


@router.post("/{alert_id}/ack", dependencies=[IdempotencyKey])
def acknowledge(alert_id: IdPath, request: Request, user: ShopFloor) -> AlertAck:
    """Acknowledge an alert (maintenance or planner); the first acknowledgement stands."""
    return plant.acknowledge_alert(request.app.state.alert_ack, alert_id, user.username)
