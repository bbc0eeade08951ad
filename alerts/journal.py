"""The alarm journal: every alarm, open and closed, with its state changes; and the KPIs.

Read-only queries over ``alerts`` and ``alert_journal``. The ISA-18.2 state is computed in
SQL with the same precedence as `alerts.lifecycle.alarm_state`, so a filter by state pages
correctly; a test checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alerts.lifecycle import Activation, AlarmKpis, AlarmState, alarm_kpis
from alerts.store import _FROM, _SELECT, Alert, _alert
from millwright.core.storage.database import Database

_STATE_SQL = """CASE
    WHEN a.state <> 'resolved' AND oos.machine_id IS NOT NULL THEN 'out_of_service'
    WHEN a.state <> 'resolved' AND m.status = 'maintenance' THEN 'suppressed'
    WHEN a.shelved_until > %(now)s THEN 'shelved'
    WHEN a.state <> 'resolved' AND a.acked_at IS NULL THEN 'unacknowledged'
    WHEN a.state <> 'resolved' THEN 'acknowledged'
    WHEN a.acked_at IS NULL THEN 'returned_unacknowledged'
    ELSE 'normal' END"""

_WHERE = f"""
WHERE (%(machine)s::text IS NULL OR m.name = %(machine)s)
  AND (%(severity)s::text IS NULL OR a.severity = %(severity)s)
  AND (%(states)s::text[] IS NULL OR ({_STATE_SQL}) = ANY(%(states)s::text[]))
  AND (%(since)s::timestamptz IS NULL OR COALESCE(a.resolved_at, 'infinity') >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR a.opened_at < %(until)s)
"""


@dataclass(frozen=True)
class JournalEntry:
    """One state change of one alarm (a row of ``alert_journal``)."""

    alert_id: int
    at: datetime
    action: str
    actor: str | None = None
    comment: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlarmFilter:
    """Which alarms to list: all by default; ``since``/``until`` keep those overlapping it."""

    machine: str | None = None
    severity: str | None = None
    states: tuple[AlarmState, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    def params(self, now: datetime) -> dict[str, Any]:
        return {
            "machine": self.machine,
            "severity": self.severity,
            "states": [s.value for s in self.states] or None,
            "since": self.since,
            "until": self.until,
            "now": now,
        }


@dataclass(frozen=True)
class AlarmPage:
    total: int
    alarms: list[Alert]
    history: dict[int, list[JournalEntry]]


def list_alarms(
    database: Database,
    where: AlarmFilter,
    now: datetime,
    *,
    limit: int = 50,
    offset: int = 0,
) -> AlarmPage:
    """One page of the journal, alarms needing attention first, then newest first."""
    if not 1 <= limit <= 1000 or offset < 0:
        raise ValueError(f"expected 1 <= limit <= 1000 and offset >= 0, got {limit}, {offset}.")
    params = {**where.params(now), "limit": limit, "offset": offset}
    order = (
        f" ORDER BY (({_STATE_SQL}) IN ('unacknowledged', 'returned_unacknowledged')) DESC,"
        " (a.state <> 'resolved') DESC, (a.severity = 'critical') DESC, a.opened_at DESC, a.id DESC"
    )
    rows = database.execute(_SELECT + _WHERE + order + " LIMIT %(limit)s OFFSET %(offset)s", params)
    total = database.execute("SELECT count(*)" + _FROM + _WHERE, params)[0][0]
    alarms = [_alert(row) for row in rows]
    return AlarmPage(int(total), alarms, history_of(database, [a.id for a in alarms]))


def history_of(database: Database, alert_ids: list[int]) -> dict[int, list[JournalEntry]]:
    """The journal of each alarm, oldest change first."""
    history: dict[int, list[JournalEntry]] = {i: [] for i in alert_ids}
    if not alert_ids:
        return history
    rows = database.execute(
        "SELECT alert_id, at, action, actor, comment, details FROM alert_journal"
        " WHERE alert_id = ANY(%s) ORDER BY alert_id, at, id",
        (alert_ids,),
    )
    for alert_id, at, action, actor, comment, details in rows:
        history[int(alert_id)].append(JournalEntry(alert_id, at, action, actor, comment, details))
    return history


def kpis(
    database: Database, start: datetime, end: datetime, now: datetime, *, operators: int = 1
) -> AlarmKpis:
    """The alarm-system KPIs of ``[start, end)`` (`alerts.lifecycle.alarm_kpis`)."""
    rows = database.execute(
        "SELECT a.opened_at, m.name, a.rule FROM alerts a JOIN machines m ON m.id = a.machine_id"
        " WHERE a.opened_at >= %s AND a.opened_at < %s",
        (start, end),
    )
    active = database.execute(
        "SELECT opened_at FROM alerts WHERE state <> 'resolved' AND opened_at <= %s", (now,)
    )
    return alarm_kpis(
        (Activation(at, machine, rule) for at, machine, rule in rows),
        start,
        end,
        active_since=[r[0] for r in active],
        now=now,
        operators=operators,
    )
