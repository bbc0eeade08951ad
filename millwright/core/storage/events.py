"""Plant events (failures, repairs, maintenance, inspections, downtime) and downtime windows.

One writer for every way events arrive (the CMMS file import, the events API), so they land
in one shape: a row of ``events`` (what features and labels read: ``kind``, ``ts``,
``ends_at``), and for a downtime also the ``machine_downtime`` span the scheduler turns into
a calendar gap (``scheduler.store`` reads ``start_at``/``end_at`` from there). The span
belongs to its event (``event_id``), so removing a planned downtime removes both.

Idempotence: an event with a work-order id is the same event on every import (its times and
notes are updated in place); without one, the same machine, kind, time and source is.

Errors::

    EventError (ValueError)          one sentence naming what and where
    ├── UnknownMachine (LookupError) a machine that is not registered (registration off)
    ├── DowntimeNotFound (LookupError)
    └── DowntimeStarted              only a downtime still in the future can be withdrawn
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from millwright.core.storage.database import Database

EVENT_KINDS = ("failure", "repair", "maintenance", "inspection", "downtime")


class EventError(ValueError):
    """An event that cannot be stored or changed as asked."""


class UnknownMachine(EventError, LookupError):
    """The machine is not registered and registration of unknown machines is off."""


class DowntimeNotFound(EventError, LookupError):
    """No downtime with that id on that machine."""


class DowntimeStarted(EventError):
    """The downtime has begun (or is over): it is history now, not a plan."""


@dataclass(frozen=True)
class PlantEvent:
    """One event as reported; ``ends_at`` closes a downtime or a maintenance window."""

    machine: str
    kind: str
    ts: datetime
    ends_at: datetime | None = None
    work_order: str | None = None
    component: str | None = None
    note: str | None = None
    source: str = "api"
    estimated_end: bool = False  # a breakdown's best guess, not a planned stop's end

    def __post_init__(self) -> None:
        if not self.machine:
            raise EventError("an event needs a machine name.")
        if self.kind not in EVENT_KINDS:
            raise EventError(f"event kind {self.kind!r} is not one of {', '.join(EVENT_KINDS)}.")
        if self.ts.tzinfo is None or (self.ends_at is not None and self.ends_at.tzinfo is None):
            raise EventError("event times need a time zone.")
        if self.ends_at is not None and self.ends_at < self.ts:
            raise EventError(
                f"the end {self.ends_at.isoformat()} is before the start {self.ts.isoformat()}."
            )
        if self.kind == "downtime" and (self.ends_at is None or self.ends_at <= self.ts):
            raise EventError("a downtime needs an end after its start.")


@dataclass(frozen=True)
class StoredEvent:
    id: int
    machine: str
    kind: str
    ts: datetime
    ends_at: datetime | None
    work_order: str | None
    component: str | None
    note: str | None
    source: str
    downtime_id: int | None = None
    created: bool = False  # new in this write (False: it was already there)


def _machine_id(conn: psycopg.Connection[Any], name: str, register: bool) -> int:
    row = conn.execute("SELECT id FROM machines WHERE name = %s", (name,)).fetchone()
    if row is not None:
        return int(row[0])
    if not register:
        raise UnknownMachine(f"there is no machine named {name!r} (registration is off).")
    row = conn.execute(
        "INSERT INTO machines (name) VALUES (%s) ON CONFLICT (name) DO UPDATE"
        " SET name = EXCLUDED.name RETURNING id",
        (name,),
    ).fetchone()
    assert row is not None
    return int(row[0])


def _details(event: PlantEvent) -> str:
    details: dict[str, Any] = {
        k: v for k, v in (("component", event.component), ("note", event.note)) if v
    }
    if event.estimated_end:
        details["estimated_end"] = True
    return json.dumps(details)


def write_event(
    conn: psycopg.Connection[Any], event: PlantEvent, *, register_unknown: bool = True
) -> StoredEvent:
    """Store one event (inside the caller's transaction); the same event twice is a no-op."""
    machine_id = _machine_id(conn, event.machine, register_unknown)
    details = _details(event)
    created = False
    row = None
    if event.work_order:
        row = conn.execute(
            "UPDATE events SET ts = %s, ends_at = %s, details = %s::jsonb WHERE machine_id = %s"
            " AND kind = %s AND work_order = %s RETURNING id",
            (event.ts, event.ends_at, details, machine_id, event.kind, event.work_order),
        ).fetchone()
    if row is None:
        row = conn.execute(
            "INSERT INTO events (ts, machine_id, kind, ends_at, source, details, work_order)"
            " VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s)"
            " ON CONFLICT (machine_id, kind, ts, source) DO NOTHING RETURNING id",
            (event.ts, machine_id, event.kind, event.ends_at, event.source, details,
             event.work_order),
        ).fetchone()  # fmt: skip
        created = row is not None
    if row is None:
        row = conn.execute(
            "SELECT id FROM events WHERE machine_id = %s AND kind = %s AND ts = %s AND source = %s",
            (machine_id, event.kind, event.ts, event.source),
        ).fetchone()
        assert row is not None
    event_id = int(row[0])
    downtime_id = None
    if event.kind == "downtime":
        span = conn.execute(
            "INSERT INTO machine_downtime (machine_id, start_at, end_at, reason, event_id)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (event_id) WHERE event_id IS NOT NULL"
            " DO UPDATE SET start_at = EXCLUDED.start_at, end_at = EXCLUDED.end_at,"
            " reason = EXCLUDED.reason RETURNING id",
            (machine_id, event.ts, event.ends_at, event.note or "", event_id),
        ).fetchone()
        assert span is not None
        downtime_id = int(span[0])
    return StoredEvent(
        event_id, event.machine, event.kind, event.ts, event.ends_at, event.work_order,
        event.component, event.note, event.source, downtime_id, created,
    )  # fmt: skip


def write_events(
    database: Database, events: Sequence[PlantEvent], *, register_unknown: bool = True
) -> list[StoredEvent]:
    """Store a batch in one transaction: all of it, or (on an unknown machine) none."""
    with database.connection() as conn:
        return [write_event(conn, e, register_unknown=register_unknown) for e in events]


_SELECT = (
    "SELECT e.id, m.name, e.kind, e.ts, e.ends_at, e.work_order, e.details->>'component',"
    " e.details->>'note', e.source, d.id FROM events e JOIN machines m ON m.id = e.machine_id"
    " LEFT JOIN machine_downtime d ON d.event_id = e.id"
)


def read_events(
    database: Database,
    *,
    machine: str | None = None,
    kind: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
) -> list[StoredEvent]:
    """Events by time, filtered by machine, kind and ``[start, end)``."""
    rows = database.execute(
        _SELECT + " WHERE (%(machine)s::text IS NULL OR m.name = %(machine)s)"
        " AND (%(kind)s::text IS NULL OR e.kind = %(kind)s)"
        " AND (%(start)s::timestamptz IS NULL OR e.ts >= %(start)s)"
        " AND (%(end)s::timestamptz IS NULL OR e.ts < %(end)s)"
        " ORDER BY e.ts, e.id LIMIT %(limit)s",
        {"machine": machine, "kind": kind, "start": start, "end": end, "limit": limit},
    )
    return [StoredEvent(*row) for row in rows]


def delete_future_downtime(
    database: Database, machine: str, downtime_id: int, *, now: datetime
) -> None:
    """Withdraw a planned downtime (span and event) that has not begun."""
    with database.connection() as conn:
        row = conn.execute(
            "SELECT d.start_at, d.event_id FROM machine_downtime d JOIN machines m"
            " ON m.id = d.machine_id WHERE d.id = %s AND m.name = %s FOR UPDATE OF d",
            (downtime_id, machine),
        ).fetchone()
        if row is None:
            raise DowntimeNotFound(f"machine {machine!r} has no downtime with id {downtime_id}.")
        if row[0] <= now:
            raise DowntimeStarted(
                f"downtime {downtime_id} of {machine} began at {row[0].isoformat()};"
                " only a downtime still in the future can be withdrawn."
            )
        conn.execute("DELETE FROM machine_downtime WHERE id = %s", (downtime_id,))
        if row[1] is not None:
            conn.execute("DELETE FROM events WHERE id = %s", (row[1],))
