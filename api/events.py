"""Plant events and downtime windows: the plain functions behind the events routes.

Events go through the storage writer shared with `millwright import events`
(:mod:`millwright.core.storage.events`), so an event posted here and one imported from the
CMMS land in the same shape; a downtime's window is what the scheduler plans around. A new
failure or downtime queues a replan (a request already waiting is reused).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from api.errors import Conflict, Invalid, NotFound
from api.schemas import DowntimeCreate, DowntimePublic, EventCreate, EventPublic
from millwright.core.storage.database import Database
from millwright.core.storage.events import (
    DowntimeNotFound,
    DowntimeStarted,
    PlantEvent,
    StoredEvent,
    UnknownMachine,
    delete_future_downtime,
    read_events,
    write_events,
)
from scheduler import request_schedule

REPLAN_KINDS = frozenset({"failure", "downtime"})


def _public(event: StoredEvent) -> EventPublic:
    return EventPublic(
        id=event.id, machine=event.machine, kind=event.kind, ts=event.ts, end=event.ends_at,
        component=event.component, work_order=event.work_order, note=event.note,
        source=event.source, downtime_id=event.downtime_id, created=event.created,
    )  # fmt: skip


def _store(
    database: Database, events: Sequence[PlantEvent], locs: Sequence[str]
) -> list[StoredEvent]:
    try:
        return write_events(database, events, register_unknown=False)
    except UnknownMachine:
        known = {r[0] for r in database.execute("SELECT name FROM machines")}
        details = [
            {"loc": loc, "message": f"no machine named {e.machine!r}", "type": "unknown_machine"}
            for e, loc in zip(events, locs, strict=True)
            if e.machine not in known
        ]
        first = details[0]
        raise Invalid(
            f"unknown machine at {first['loc']}: {first['message']}", details=details
        ) from None


def _replan(database: Database, stored: Sequence[StoredEvent], username: str) -> None:
    if any(e.created and e.kind in REPLAN_KINDS for e in stored):
        request_schedule(database, f"{username} (event)")


def create_events(
    database: Database, body: EventCreate | list[EventCreate], username: str
) -> list[EventPublic]:
    batch = body if isinstance(body, list) else [body]
    locs = (
        [f"body.{i}.machine" for i in range(len(batch))]
        if isinstance(body, list)
        else ["body.machine"]
    )
    events = [
        PlantEvent(
            machine=e.machine,
            kind=e.kind,
            ts=e.ts,
            ends_at=e.end,
            work_order=e.work_order,
            component=e.component,
            note=e.note,
            source="api",
        )
        for e in batch
    ]
    stored = _store(database, events, locs)
    _replan(database, stored, username)
    return [_public(e) for e in stored]


def list_events(
    database: Database,
    *,
    machine: str | None,
    kind: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[EventPublic]:
    found = read_events(database, machine=machine, kind=kind, start=start, end=end, limit=limit)
    return [_public(e) for e in found]


def create_downtime(
    database: Database, machine: str, body: DowntimeCreate, username: str
) -> DowntimePublic:
    end = body.end or body.expected_end
    assert end is not None
    event = PlantEvent(
        machine=machine, kind="downtime", ts=body.start, ends_at=end, work_order=body.work_order,
        note=body.reason, source="api", estimated_end=body.expected_end is not None,
    )  # fmt: skip
    try:
        (stored,) = write_events(database, [event], register_unknown=False)
    except UnknownMachine:
        raise NotFound(f"no machine {machine!r}", code="machine_not_found") from None
    _replan(database, [stored], username)
    assert stored.downtime_id is not None
    return DowntimePublic(
        id=stored.downtime_id, machine=machine, start=body.start, end=end,
        expected=body.expected_end is not None, reason=body.reason, event_id=stored.id,
    )  # fmt: skip


def delete_downtime(database: Database, machine: str, downtime_id: int, username: str) -> None:
    try:
        delete_future_downtime(database, machine, downtime_id, now=datetime.now(UTC))
    except DowntimeNotFound as exc:
        raise NotFound(str(exc), code="downtime_not_found") from None
    except DowntimeStarted as exc:
        raise Conflict(str(exc), code="downtime_started") from None
    request_schedule(database, f"{username} (downtime withdrawn)")
