"""Machines with their latest risk, and alert acknowledgement: plain functions over SQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from api.errors import NotFound
from api.schemas import AlertAck, MachinePublic, RiskPublic
from millwright.core.storage.database import Database

# Acknowledges alert `id` for `username`; the composition root may plug in the alerts
# package's own function (which also notifies webhooks), since scheduler cannot import alerts.
AckFunction = Callable[[int, str], object]

_MACHINES = (
    "SELECT m.name, m.line, m.machine_class, m.status, m.status_since,"
    " r.ts, r.model_version, r.horizon_hours, r.p_fail, r.rul, r.rul_low, r.top_features"
    " FROM machines m LEFT JOIN LATERAL (SELECT * FROM risk_scores s WHERE s.machine_id = m.id"
    "  ORDER BY s.ts DESC LIMIT 1) r ON true"
)


def _machine(row: tuple[Any, ...]) -> MachinePublic:
    name, line, machine_class, status, since, ts, version, horizon, p_fail, rul, rul_low, top = row
    risk = None
    if ts is not None:
        risk = RiskPublic(
            scored_at=ts, model_version=version, horizon_hours=horizon, p_fail=p_fail,
            rul_hours=rul, rul_low_hours=rul_low,
            predicted_failure_at=None if rul_low is None else ts + timedelta(hours=rul_low),
            top_features=top if isinstance(top, list) else [],
        )  # fmt: skip
    return MachinePublic(
        name=name, line=line, machine_class=machine_class, status=status, status_since=since,
        risk=risk,
    )  # fmt: skip


def list_machines(database: Database) -> list[MachinePublic]:
    return [_machine(row) for row in database.execute(_MACHINES + " ORDER BY m.name")]


def get_machine(database: Database, name: str) -> MachinePublic:
    rows = database.execute(_MACHINES + " WHERE m.name = %s", (name,))
    if not rows:
        raise NotFound(f"no machine {name!r}", code="machine_not_found")
    return _machine(rows[0])


def acknowledge_alert(
    database: Database, alert_id: int, username: str, ack: AckFunction | None = None
) -> AlertAck:
    """Acknowledge an alert; the first acknowledgement stands (acking twice is harmless)."""
    if not database.execute("SELECT 1 FROM alerts WHERE id = %s", (alert_id,)):
        raise NotFound(f"no alert {alert_id}", code="alert_not_found")
    if ack is not None:
        ack(alert_id, username)
    else:
        database.execute(
            "UPDATE alerts SET acked_at = now(), acked_by = %s WHERE id = %s AND acked_at IS NULL",
            (username, alert_id),
        )
    rows = database.execute(
        "SELECT a.id, m.name, a.rule, a.state, a.acked_at, a.acked_by FROM alerts a"
        " JOIN machines m ON m.id = a.machine_id WHERE a.id = %s",
        (alert_id,),
    )
    alert_id, machine, rule, state, acked_at, acked_by = rows[0]
    return AlertAck(
        id=alert_id, machine=machine, rule=rule, state=state, acked_at=acked_at, acked_by=acked_by
    )
