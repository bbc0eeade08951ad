"""Machines with their latest risk, and alert acknowledgement: plain functions over the faces.

The latest risk comes from the models' read model (:func:`models.latest_risks`); an
acknowledgement goes through the alerts package (wired in by the composition root as an
:data:`AckFunction`), which also tells subscribed webhooks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from alerts import Alert, AlertNotFound
from api.errors import NotFound
from api.schemas import AlertAck, MachinePublic, RiskPublic
from millwright.core.storage.database import Database
from models import LatestRisk, latest_risks

# Acknowledges alert `id` for `username` and returns it; raises AlertNotFound for an unknown id.
AckFunction = Callable[[int, str], Alert]

_MACHINES = "SELECT id, name, line, machine_class, status, status_since FROM machines"


def _risk(latest: LatestRisk | None) -> RiskPublic | None:
    if latest is None:
        return None
    rul_low = latest.rul_low
    return RiskPublic(
        scored_at=latest.ts, model_version=latest.model_version,
        horizon_hours=latest.horizon_hours, p_fail=latest.p_fail, rul_hours=latest.rul,
        rul_low_hours=rul_low,
        predicted_failure_at=None if rul_low is None else latest.ts + timedelta(hours=rul_low),
        top_features=latest.top_features if isinstance(latest.top_features, list) else [],
    )  # fmt: skip


def _machines(database: Database, where: str = "", params: Any = None) -> list[MachinePublic]:
    with database.connection() as conn:
        rows = conn.execute(_MACHINES + where + " ORDER BY name", params).fetchall()
        risks = {r.machine_id: r for r in latest_risks(conn, [row[0] for row in rows])}
    return [
        MachinePublic(
            name=name,
            line=line,
            machine_class=machine_class,
            status=status,
            status_since=since,
            risk=_risk(risks.get(machine_id)),
        )
        for machine_id, name, line, machine_class, status, since in rows
    ]


def list_machines(database: Database) -> list[MachinePublic]:
    return _machines(database)


def get_machine(database: Database, name: str) -> MachinePublic:
    found = _machines(database, " WHERE name = %s", (name,))
    if not found:
        raise NotFound(f"no machine {name!r}", code="machine_not_found")
    return found[0]


def acknowledge_alert(ack: AckFunction, alert_id: int, username: str) -> AlertAck:
    """Acknowledge an alert; the first acknowledgement stands (acking twice is harmless)."""
    try:
        alert = ack(alert_id, username)
    except AlertNotFound:
        raise NotFound(f"no alert {alert_id}", code="alert_not_found") from None
    assert alert.acked_at is not None and alert.acked_by is not None
    return AlertAck(
        id=alert.id, machine=alert.machine, rule=alert.rule, state=alert.state.value,
        acked_at=alert.acked_at, acked_by=alert.acked_by,
    )  # fmt: skip
