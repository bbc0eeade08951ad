"""Schemas of the /alerts routes (the alarm journal, acknowledgement, shelving)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alerts import STATE_WORDS, AlarmState, Alert, JournalEntry


class AlertAckIn(BaseModel):
    """An acknowledgement: what the person saw or did (optional)."""

    model_config = ConfigDict(extra="forbid")
    comment: str | None = Field(default=None, max_length=500)


class AlertShelveIn(BaseModel):
    """Shelve for ``minutes`` (1 min to 7 days) with a reason; the shelf expires on its own."""

    model_config = ConfigDict(extra="forbid")
    minutes: int = Field(ge=1, le=7 * 24 * 60)
    reason: str = Field(min_length=1, max_length=500)


class JournalEntryPublic(BaseModel):
    at: datetime
    action: str
    actor: str | None = None
    comment: str | None = None
    details: dict[str, Any] = {}


class AlarmPublic(BaseModel):
    """One alarm with its ISA-18.2 state, how long it lasted, and every state change."""

    id: int
    machine: str
    line: str | None = None
    rule: str
    severity: str
    condition: str  # the episode: open, escalated or resolved
    state: AlarmState
    state_text: str
    opened_at: datetime
    escalated_at: datetime | None = None
    resolved_at: datetime | None = None
    duration_s: float
    acked_at: datetime | None = None
    acked_by: str | None = None
    ack_comment: str | None = None
    shelved_until: datetime | None = None
    shelved_by: str | None = None
    shelve_reason: str | None = None
    p_fail: float | None = None
    rul_low_hours: float | None = None
    history: list[JournalEntryPublic] = []


class AlarmList(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[AlarmPublic]


def alarm_public(alert: Alert, now: datetime, history: Sequence[JournalEntry] = ()) -> AlarmPublic:
    state = alert.lifecycle(now)
    end = alert.resolved_at or now
    return AlarmPublic(
        id=alert.id,
        machine=alert.machine,
        line=alert.line,
        rule=alert.rule,
        severity=alert.severity.value,
        condition=alert.state.value,
        state=state,
        state_text=STATE_WORDS[state],
        opened_at=alert.opened_at,
        escalated_at=alert.escalated_at,
        resolved_at=alert.resolved_at,
        duration_s=max(0.0, (end - alert.opened_at).total_seconds()),
        acked_at=alert.acked_at,
        acked_by=alert.acked_by,
        ack_comment=alert.ack_comment,
        shelved_until=alert.shelved_until if state is AlarmState.SHELVED else None,
        shelved_by=alert.shelved_by if state is AlarmState.SHELVED else None,
        shelve_reason=alert.shelve_reason if state is AlarmState.SHELVED else None,
        p_fail=alert.p_fail,
        rul_low_hours=alert.rul_low,
        history=[
            JournalEntryPublic(
                at=e.at, action=e.action, actor=e.actor, comment=e.comment, details=e.details
            )
            for e in history
        ],
    )
