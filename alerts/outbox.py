"""The webhook outbox: ``webhook_deliveries`` rows and their ``webhook_attempts`` log.

All delivery state lives in the table, so a dispatcher that dies mid-retry loses nothing:

- rows are inserted in the transaction that records the alert transition (:func:`enqueue`);
- a dispatcher *claims* one due row with ``FOR UPDATE SKIP LOCKED`` (several dispatchers
  never take the same row) and pushes ``next_attempt_at`` forward by a lease, then commits
  before the HTTP call, so no transaction stays open across the network;
- if the dispatcher dies during the call, the lease runs out and the row is due again; the
  receiver may then see the same ``webhook-id`` twice, which is what it deduplicates on;
- the attempt and the row's new state are written together (:func:`settle`); the update is
  guarded by the attempt count seen at claim time, so a late settle after a lost lease is a
  no-op instead of a double count.
"""

from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from alerts.config import AlertsConfig
from alerts.payload import WebhookEvent, body_for
from millwright.core.storage.database import Database


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"
    DISABLED = "disabled"


@dataclass(frozen=True)
class Delivery:
    """One notification to one endpoint (a row of ``webhook_deliveries``)."""

    id: str
    alert_id: int | None
    endpoint: str
    event_type: str
    payload: dict[str, Any]
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None = None
    last_error: str | None = None

    def __post_init__(self) -> None:
        if self.attempts < 0:
            raise ValueError(f"delivery {self.id} has a negative attempt count.")

    def body(self) -> bytes:
        """The exact bytes sent and signed; deterministic, so every retry sends the same."""
        return json.dumps(self.payload, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True)
class Attempt:
    """One logged HTTP attempt (a row of ``webhook_attempts``)."""

    delivery_id: str
    attempted_at: datetime
    status_code: int | None
    latency_ms: float | None
    error: str | None


@dataclass(frozen=True)
class Settlement:
    """What one attempt leaves behind: its log line and the delivery's next state."""

    status_code: int | None
    latency_ms: float | None
    error: str | None
    state: DeliveryState
    retry_in_s: float | None = None


_COLUMNS = (
    "id, alert_id, endpoint, event_type, payload, state, attempts, next_attempt_at,"
    " created_at, delivered_at, last_error"
)


def _delivery(row: tuple[Any, ...]) -> Delivery:
    return Delivery(
        id=row[0],
        alert_id=row[1],
        endpoint=row[2],
        event_type=row[3],
        payload=row[4],
        state=DeliveryState(row[5]),
        attempts=row[6],
        next_attempt_at=row[7],
        created_at=row[8],
        delivered_at=row[9],
        last_error=row[10],
    )


def new_delivery_id() -> str:
    """A fresh ``webhook-id``: unique per (event, endpoint), kept across retries."""
    return f"msg_{uuid.uuid4().hex}"


def enqueue(
    conn: psycopg.Connection[Any],
    config: AlertsConfig,
    event: WebhookEvent,
    alert_id: int | None,
    *,
    only: str | None = None,
    skip_edge_reachable: bool = False,
) -> list[str]:
    """Insert one delivery per subscribed endpoint; returns the delivery ids.

    Runs in the caller's transaction, next to the alert change it announces.
    ``skip_edge_reachable``: the edge already told the endpoints marked
    ``reachable_from_edge`` (a transition adopted from the edge), so only the others are.
    """
    disabled = {
        row[0]
        for row in conn.execute("SELECT name FROM webhook_endpoints WHERE disabled_at IS NOT NULL")
    }
    ids = []
    for endpoint in config.endpoints:
        if only is not None and endpoint.name != only:
            continue
        if only is None and event.type not in endpoint.events:
            continue
        if skip_edge_reachable and endpoint.reachable_from_edge:
            continue
        # A disabled endpoint's deliveries are parked, not dropped: re-enabling sends them.
        delivery_id = new_delivery_id()
        conn.execute(
            "INSERT INTO webhook_deliveries (id, alert_id, endpoint, event_type, payload, state)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                delivery_id,
                alert_id,
                endpoint.name,
                event.type,
                json.dumps(body_for(endpoint.kind, event)),
                "disabled" if endpoint.name in disabled else "pending",
            ),
        )
        ids.append(delivery_id)
    return ids


def claim_due(database: Database, lease_s: float, *, only: str | None = None) -> Delivery | None:
    """Take the oldest due delivery for ``lease_s`` seconds, or None when nothing is due."""
    rows = database.execute(
        "UPDATE webhook_deliveries d"
        " SET next_attempt_at = clock_timestamp() + make_interval(secs => %(lease)s)"
        " WHERE d.id = (SELECT id FROM webhook_deliveries"
        "   WHERE state = 'pending' AND next_attempt_at <= clock_timestamp()"
        "     AND (%(only)s::text IS NULL OR id = %(only)s)"
        "     AND endpoint NOT IN"
        "       (SELECT name FROM webhook_endpoints WHERE disabled_at IS NOT NULL)"
        "   ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED)"
        f" RETURNING {_COLUMNS}",
        {"lease": lease_s, "only": only},
    )
    return _delivery(rows[0]) if rows else None


def settle(database: Database, delivery: Delivery, outcome: Settlement) -> bool:
    """Log the attempt and move the delivery on; False if another dispatcher got there first."""
    with database.connection() as conn:
        if outcome.status_code is not None or outcome.error is not None:
            conn.execute(
                "INSERT INTO webhook_attempts (delivery_id, status_code, latency_ms, error)"
                " VALUES (%s, %s, %s, %s)",
                (delivery.id, outcome.status_code, outcome.latency_ms, outcome.error),
            )
        updated = conn.execute(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, state = %(state)s,"
            " last_error = %(error)s,"
            " delivered_at = CASE WHEN %(state)s = 'delivered' THEN now() END,"
            " next_attempt_at = CASE WHEN %(retry)s::float8 IS NULL THEN next_attempt_at"
            "   ELSE clock_timestamp() + make_interval(secs => %(retry)s) END"
            " WHERE id = %(id)s AND state = 'pending' AND attempts = %(attempts)s",
            {
                "state": outcome.state.value,
                "error": outcome.error,
                "retry": outcome.retry_in_s,
                "id": delivery.id,
                "attempts": delivery.attempts,
            },
        ).rowcount
        return updated == 1


def disable_endpoint(database: Database, name: str, reason: str) -> int:
    """Mark the endpoint disabled and park its pending deliveries; returns how many parked."""
    with database.connection() as conn:
        conn.execute(
            "INSERT INTO webhook_endpoints (name, disabled_at, disabled_reason)"
            " VALUES (%s, now(), %s) ON CONFLICT (name) DO UPDATE"
            " SET disabled_at = now(), disabled_reason = EXCLUDED.disabled_reason",
            (name, reason),
        )
        return conn.execute(
            "UPDATE webhook_deliveries SET state = 'disabled', last_error = %s"
            " WHERE endpoint = %s AND state = 'pending'",
            (reason, name),
        ).rowcount


def enable_endpoint(database: Database, name: str) -> int:
    """Re-enable an endpoint and queue its parked deliveries again; returns how many."""
    with database.connection() as conn:
        conn.execute(
            "UPDATE webhook_endpoints SET disabled_at = NULL, disabled_reason = NULL"
            " WHERE name = %s",
            (name,),
        )
        return conn.execute(
            "UPDATE webhook_deliveries SET state = 'pending', next_attempt_at = now()"
            " WHERE endpoint = %s AND state = 'disabled'",
            (name,),
        ).rowcount


def disabled_endpoints(database: Database) -> dict[str, str | None]:
    """Endpoints disabled by their receiver (name → reason)."""
    rows = database.execute(
        "SELECT name, disabled_reason FROM webhook_endpoints WHERE disabled_at IS NOT NULL"
    )
    return {row[0]: row[1] for row in rows}


def get_delivery(database: Database, delivery_id: str) -> Delivery | None:
    rows = database.execute(
        f"SELECT {_COLUMNS} FROM webhook_deliveries WHERE id = %s", (delivery_id,)
    )
    return _delivery(rows[0]) if rows else None


def list_deliveries(
    database: Database,
    *,
    state: DeliveryState | str | None = None,
    endpoint: str | None = None,
    alert_id: int | None = None,
    limit: int = 500,
) -> list[Delivery]:
    """Deliveries, newest first, optionally filtered."""
    value = DeliveryState(state).value if state is not None else None
    rows = database.execute(
        f"SELECT {_COLUMNS} FROM webhook_deliveries"
        " WHERE (%(state)s::text IS NULL OR state = %(state)s)"
        " AND (%(endpoint)s::text IS NULL OR endpoint = %(endpoint)s)"
        " AND (%(alert)s::bigint IS NULL OR alert_id = %(alert)s)"
        " ORDER BY created_at DESC, id LIMIT %(limit)s",
        {"state": value, "endpoint": endpoint, "alert": alert_id, "limit": limit},
    )
    return [_delivery(row) for row in rows]


def attempts_of(database: Database, delivery_id: str) -> list[Attempt]:
    """The logged attempts of one delivery, oldest first."""
    rows = database.execute(
        "SELECT delivery_id, attempted_at, status_code, latency_ms, error FROM webhook_attempts"
        " WHERE delivery_id = %s ORDER BY attempted_at, id",
        (delivery_id,),
    )
    return [Attempt(*row) for row in rows]
