"""The ``alerts`` table: recording episode transitions, listing, acknowledging.

Each function that changes an alert takes an open connection, so the caller records the
transition and its webhook deliveries (`alerts.outbox`) in one transaction: an alert never
exists without its notifications, nor a notification without its alert.

Acknowledgement means "someone is on it": it records who and when and is idempotent (the
first acknowledgement stands). An escalation clears it, because a critical episode needs a
fresh pair of eyes even if the warning was already acknowledged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from alerts.episodes import AlertState, EpisodeState, Severity, Transition, TransitionKind
from alerts.errors import AlertNotFound
from alerts.lifecycle import AlarmState, alarm_state
from millwright.core.storage.database import Database


@dataclass(frozen=True)
class Alert:
    """One episode of one rule on one machine (a row of ``alerts``)."""

    id: int
    machine_id: int
    machine: str
    rule: str
    severity: Severity
    state: AlertState
    opened_at: datetime
    escalated_at: datetime | None = None
    resolved_at: datetime | None = None
    acked_at: datetime | None = None
    acked_by: str | None = None
    p_fail: float | None = None
    rul_low: float | None = None
    details: dict[str, Any] = field(default_factory=dict)
    ack_comment: str | None = None
    shelved_at: datetime | None = None
    shelved_until: datetime | None = None
    shelved_by: str | None = None
    shelve_reason: str | None = None
    line: str | None = None
    machine_status: str | None = None
    out_of_service: bool = False

    def __post_init__(self) -> None:
        if self.state is AlertState.RESOLVED and self.resolved_at is None:
            raise ValueError(f"alert {self.id} is resolved but has no resolved_at.")
        if (self.acked_at is None) != (self.acked_by is None):
            raise ValueError(f"alert {self.id} needs both acked_at and acked_by, or neither.")

    @property
    def acknowledged(self) -> bool:
        return self.acked_at is not None

    @property
    def active(self) -> bool:
        return self.state is not AlertState.RESOLVED

    def lifecycle(self, now: datetime) -> AlarmState:
        """The ISA-18.2 state at ``now`` (`alerts.lifecycle.alarm_state`)."""
        return alarm_state(
            active=self.active,
            acknowledged=self.acknowledged,
            shelved_until=self.shelved_until,
            machine_status=self.machine_status,
            out_of_service=self.out_of_service,
            now=now,
        )


_COLUMNS = (
    "a.id, a.machine_id, m.name, a.rule, a.severity, a.state, a.opened_at, a.escalated_at,"
    " a.resolved_at, a.acked_at, a.acked_by, a.p_fail, a.rul_low, a.details, a.ack_comment,"
    " a.shelved_at, a.shelved_until, a.shelved_by, a.shelve_reason, m.line, m.status,"
    " (oos.machine_id IS NOT NULL)"
)
_FROM = (
    " FROM alerts a JOIN machines m ON m.id = a.machine_id"
    " LEFT JOIN alarm_out_of_service oos ON oos.machine_id = a.machine_id"
)
_SELECT = f"SELECT {_COLUMNS}{_FROM}"


def _alert(row: tuple[Any, ...]) -> Alert:
    return Alert(
        id=row[0],
        machine_id=row[1],
        machine=row[2],
        rule=row[3],
        severity=Severity(row[4]),
        state=AlertState(row[5]),
        opened_at=row[6],
        escalated_at=row[7],
        resolved_at=row[8],
        acked_at=row[9],
        acked_by=row[10],
        p_fail=row[11],
        rul_low=row[12],
        details=row[13] or {},
        ack_comment=row[14],
        shelved_at=row[15],
        shelved_until=row[16],
        shelved_by=row[17],
        shelve_reason=row[18],
        line=row[19],
        machine_status=row[20],
        out_of_service=bool(row[21]),
    )


def list_alerts(
    database: Database,
    state: AlertState | str | None = None,
    machine: str | None = None,
    *,
    active_only: bool = False,
    limit: int = 500,
) -> list[Alert]:
    """Alerts, newest first; ``state`` filters one state, ``active_only`` non-resolved ones."""
    state_value = AlertState(state).value if state is not None else None
    rows = database.execute(
        _SELECT + " WHERE (%(state)s::text IS NULL OR a.state = %(state)s)"
        " AND (%(machine)s::text IS NULL OR m.name = %(machine)s)"
        " AND (NOT %(active)s OR a.state <> 'resolved')"
        " ORDER BY a.opened_at DESC, a.id DESC LIMIT %(limit)s",
        {"state": state_value, "machine": machine, "active": active_only, "limit": limit},
    )
    return [_alert(row) for row in rows]


def get_alert(database: Database, alert_id: int) -> Alert:
    """One alert by id, or `AlertNotFound`."""
    with database.connection() as conn:
        return fetch_alert(conn, alert_id)


def fetch_alert(conn: psycopg.Connection[Any], alert_id: int, *, lock: bool = False) -> Alert:
    """One alert by id inside the caller's transaction (``lock``: FOR UPDATE of the alert)."""
    sql = _SELECT + " WHERE a.id = %s" + (" FOR UPDATE OF a" if lock else "")
    row = conn.execute(sql, (alert_id,)).fetchone()
    if row is None:
        raise AlertNotFound(f"no alert with id {alert_id}")
    return _alert(row)


def open_alert(conn: psycopg.Connection[Any], machine_id: int, rule: str) -> Alert | None:
    """The non-resolved alert of (machine, rule), if an episode is in progress."""
    row = conn.execute(
        _SELECT + " WHERE a.machine_id = %s AND a.rule = %s AND a.state <> 'resolved'"
        " FOR UPDATE OF a",
        (machine_id, rule),
    ).fetchone()
    return _alert(row) if row else None


def record_ack(
    conn: psycopg.Connection[Any],
    alert_id: int,
    user: str,
    at: datetime,
    comment: str | None = None,
) -> Alert:
    """Acknowledge in the caller's transaction; an already acknowledged alert is unchanged."""
    if not user:
        raise ValueError("an acknowledgement needs the user's name.")
    changed = conn.execute(
        "UPDATE alerts SET acked_at = %s, acked_by = %s, ack_comment = %s"
        " WHERE id = %s AND acked_at IS NULL",
        (at, user, comment or None, alert_id),
    ).rowcount
    if changed:
        journal(conn, alert_id, at, "acknowledged", user, comment)
    return fetch_alert(conn, alert_id)


def record_shelve(
    conn: psycopg.Connection[Any],
    alert_id: int,
    user: str,
    at: datetime,
    until: datetime,
    reason: str,
) -> Alert:
    """Shelve until ``until`` in the caller's transaction (a new shelf replaces the old)."""
    if not user:
        raise ValueError("shelving needs the user's name.")
    if not reason.strip():
        raise ValueError("shelving needs a reason, e.g. 'sensor being replaced'.")
    if until <= at:
        raise ValueError(f"a shelf must end after it starts ({at} to {until}).")
    conn.execute(
        "UPDATE alerts SET shelved_at = %s, shelved_until = %s, shelved_by = %s,"
        " shelve_reason = %s WHERE id = %s",
        (at, until, user, reason.strip(), alert_id),
    )
    journal(conn, alert_id, at, "shelved", user, reason.strip(), {"until": until.isoformat()})
    return fetch_alert(conn, alert_id)


def record_unshelve(
    conn: psycopg.Connection[Any], alert_id: int, at: datetime, user: str | None, why: str
) -> Alert:
    """Take the alert off its shelf (by ``user``, or ``None`` when the shelf expired)."""
    conn.execute(
        "UPDATE alerts SET shelved_at = NULL, shelved_until = NULL, shelved_by = NULL,"
        " shelve_reason = NULL WHERE id = %s",
        (alert_id,),
    )
    journal(conn, alert_id, at, "unshelved", user, why)
    return fetch_alert(conn, alert_id)


def expired_shelves(conn: psycopg.Connection[Any], now: datetime) -> list[int]:
    """Ids of alerts whose shelf ended at or before ``now`` (locked for this transaction)."""
    rows = conn.execute(
        "SELECT id FROM alerts WHERE shelved_until <= %s ORDER BY id FOR UPDATE", (now,)
    ).fetchall()
    return [int(r[0]) for r in rows]


def journal(
    conn: psycopg.Connection[Any],
    alert_id: int,
    at: datetime,
    action: str,
    actor: str | None = None,
    comment: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one state change to the alarm's journal."""
    conn.execute(
        "INSERT INTO alert_journal (alert_id, at, action, actor, comment, details)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (alert_id, at, action, actor, comment or None, json.dumps(details or {})),
    )


# An episode the edge opened keeps the edge's id through later central transitions, so a
# receiver folds every notification of it into one incident, and keeps saying it was opened
# at the edge (``scored_at_edge``) once the centre escalates or resolves it.
_KEEP_EDGE_EPISODE = (
    "::jsonb || jsonb_strip_nulls(jsonb_build_object('edge_episode', details->'edge_episode',"
    " 'scored_at_edge', details->'scored_at_edge'))"
)


def record_transition(
    conn: psycopg.Connection[Any], machine_id: int, current: Alert | None, transition: Transition
) -> Alert:
    """Write one transition to ``alerts``; returns the alert as it now stands."""
    score = transition.score
    details = json.dumps(
        {
            "model_version": score.model_version,
            "rul": score.rul,
            "horizon_hours": score.horizon_hours,
            "scored_at": score.ts.isoformat(),
            "top_features": list(score.top_features),
        }
    )
    values = (score.p_fail, score.rul_low, details)
    if transition.kind is TransitionKind.OPEN:
        row = conn.execute(
            "INSERT INTO alerts (machine_id, rule, severity, state, opened_at, p_fail, rul_low,"
            " details) VALUES (%s, %s, %s, 'open', %s, %s, %s, %s) RETURNING id",
            (machine_id, transition.rule, transition.severity.value, transition.ts, *values),
        ).fetchone()
        assert row is not None
        journal(conn, row[0], transition.ts, "opened", None, None, _score_details(score))
        return fetch_alert(conn, row[0])
    if current is None:
        raise ValueError(f"a {transition.kind} transition needs the episode's open alert.")
    if transition.kind is TransitionKind.ESCALATE:
        conn.execute(
            "UPDATE alerts SET severity = 'critical', state = 'escalated', escalated_at = %s,"
            " acked_at = NULL, acked_by = NULL, p_fail = %s, rul_low = %s, details = %s"
            + _KEEP_EDGE_EPISODE
            + " WHERE id = %s",
            (transition.ts, *values, current.id),
        )
        journal(conn, current.id, transition.ts, "escalated", None, None, _score_details(score))
    else:
        conn.execute(
            "UPDATE alerts SET state = 'resolved', resolved_at = %s, p_fail = %s, rul_low = %s,"
            " details = %s" + _KEEP_EDGE_EPISODE + " WHERE id = %s",
            (transition.ts, *values, current.id),
        )
        journal(conn, current.id, transition.ts, "resolved", None, None, _score_details(score))
    return fetch_alert(conn, current.id)


def _score_details(score: Any) -> dict[str, Any]:
    return {"p_fail": score.p_fail, "rul_low": score.rul_low, "scored_at": score.ts.isoformat()}


def load_episode_state(conn: psycopg.Connection[Any], machine_id: int, rule: str) -> EpisodeState:
    """The episode clocks of (machine, rule), locked for this transaction."""
    conn.execute(
        "INSERT INTO alert_episode_state (machine_id, rule) VALUES (%s, %s) ON CONFLICT DO NOTHING",
        (machine_id, rule),
    )
    row = conn.execute(
        "SELECT above_since, critical_since, clear_since, last_ts FROM alert_episode_state"
        " WHERE machine_id = %s AND rule = %s FOR UPDATE",
        (machine_id, rule),
    ).fetchone()
    assert row is not None
    current = open_alert(conn, machine_id, rule)
    return EpisodeState(
        severity=current.severity if current else None,
        above_since=row[0],
        critical_since=row[1],
        clear_since=row[2],
        last_ts=row[3],
    )


def save_episode_state(
    conn: psycopg.Connection[Any], machine_id: int, rule: str, state: EpisodeState
) -> None:
    conn.execute(
        "UPDATE alert_episode_state SET above_since = %s, critical_since = %s, clear_since = %s,"
        " last_ts = %s, updated_at = now() WHERE machine_id = %s AND rule = %s",
        (
            state.above_since,
            state.critical_since,
            state.clear_since,
            state.last_ts,
            machine_id,
            rule,
        ),
    )
