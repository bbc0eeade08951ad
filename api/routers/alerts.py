"""/alerts: the alarm journal (filters, paging), acknowledgement with a comment, shelving.

Thin over the alerts package's face (`alerts.acknowledge`, `alerts.shelve`,
`alerts.list_alarms`) with the settings' ``alerts`` section, so an acknowledgement here is the
same as one from the dashboard or the CLI and tells subscribed webhooks; "now" is the plant
clock, so a replayed plant shelves and lists in its own time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request

import alerts
from api.alarm_schemas import AlarmList, AlarmPublic, AlertAckIn, AlertShelveIn, alarm_public
from api.auth import Reader, ShopFloor
from api.errors import NotFound
from api.routers.common import DB, ERRORS, IdempotencyKey, IdPath
from api.schemas import AlertAck, QueryDatetime
from millwright.core.clock import PlantClock
from millwright.core.storage.database import Database

router = APIRouter(prefix="/alerts", tags=["alerts"], responses=ERRORS)
Severity = Literal["warning", "critical"]


def _clock(request: Request, db: Database) -> PlantClock:
    clock = getattr(request.app.state, "clock", None)
    if clock is None:
        clock = request.app.state.settings.plant_clock(db)
        request.app.state.clock = clock
    return clock  # type: ignore[no-any-return]


def _one(db: Database, alert_id: int, now: datetime) -> AlarmPublic:
    try:
        alert = alerts.get_alert(db, alert_id)
    except alerts.AlertNotFound:
        raise NotFound(f"no alert {alert_id}", code="alert_not_found") from None
    return alarm_public(alert, now, alerts.history_of(db, [alert_id])[alert_id])


@router.get("")
def list_alerts(
    request: Request,
    db: DB,
    user: Reader,
    machine: Annotated[str | None, Query(max_length=128)] = None,
    severity: Annotated[Severity | None, Query()] = None,
    state: Annotated[list[alerts.AlarmState] | None, Query()] = None,
    since: Annotated[QueryDatetime | None, Query(description="Alarms active at or after.")] = None,
    until: Annotated[QueryDatetime | None, Query(description="Alarms opened before.")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> AlarmList:
    """The alarm journal, open and closed alarms, those needing attention first."""
    now = _clock(request, db).now()
    where = alerts.AlarmFilter(machine, severity, tuple(state or ()), since, until)
    page = alerts.list_alarms(db, where, now, limit=limit, offset=offset)
    return AlarmList(
        total=page.total,
        limit=limit,
        offset=offset,
        items=[alarm_public(a, now, page.history[a.id]) for a in page.alarms],
    )


@router.get("/{alert_id}")
def get_alert(alert_id: IdPath, request: Request, db: DB, user: Reader) -> AlarmPublic:
    return _one(db, alert_id, _clock(request, db).now())


@router.post("/{alert_id}/ack", dependencies=[IdempotencyKey])
def acknowledge(
    alert_id: IdPath,
    request: Request,
    db: DB,
    user: ShopFloor,
    body: Annotated[AlertAckIn | None, Body()] = None,
) -> AlertAck:
    """Acknowledge an alert with an optional comment (maintenance or planner); the first
    acknowledgement stands."""
    settings = request.app.state.settings
    config = settings.section("alerts", alerts.AlertsConfig)
    try:
        alert = alerts.acknowledge(
            db,
            alert_id,
            user.username,
            config=config,
            public_url=settings.public_url,
            now=_clock(request, db).now(),
            comment=body.comment if body else None,
        )
    except alerts.AlertNotFound:
        raise NotFound(f"no alert {alert_id}", code="alert_not_found") from None
    assert alert.acked_at is not None and alert.acked_by is not None
    return AlertAck(
        id=alert.id,
        machine=alert.machine,
        rule=alert.rule,
        state=alert.state.value,
        acked_at=alert.acked_at,
        acked_by=alert.acked_by,
    )


@router.post("/{alert_id}/shelve", dependencies=[IdempotencyKey])
def shelve(
    alert_id: IdPath, body: AlertShelveIn, request: Request, db: DB, user: ShopFloor
) -> AlarmPublic:
    """Shelve an alarm for a while with a reason (maintenance or planner)."""
    settings = request.app.state.settings
    config = settings.section("alerts", alerts.AlertsConfig)
    now = _clock(request, db).now()
    try:
        alerts.shelve(
            db,
            alert_id,
            user.username,
            timedelta(minutes=body.minutes),
            body.reason,
            config=config,
            public_url=settings.public_url,
            now=now,
        )
    except alerts.AlertNotFound:
        raise NotFound(f"no alert {alert_id}", code="alert_not_found") from None
    return _one(db, alert_id, now)


@router.post("/{alert_id}/unshelve", dependencies=[IdempotencyKey])
def unshelve(alert_id: IdPath, request: Request, db: DB, user: ShopFloor) -> AlarmPublic:
    """Take an alarm off its shelf before the shelf expires (maintenance or planner)."""
    settings = request.app.state.settings
    config = settings.section("alerts", alerts.AlertsConfig)
    now = _clock(request, db).now()
    try:
        alerts.unshelve(
            db, alert_id, user.username, config=config,
            public_url=settings.public_url, now=now,
        )  # fmt: skip
    except alerts.AlertNotFound:
        raise NotFound(f"no alert {alert_id}", code="alert_not_found") from None
    return _one(db, alert_id, now)
