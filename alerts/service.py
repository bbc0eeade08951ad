"""The alerts service's verbs, as plain functions the CLI, the API and the demo call.

- :func:`evaluate_latest` reads new risk scores, advances every (machine, rule) episode and
  records each transition together with its webhook deliveries, one transaction per machine;
- :func:`acknowledge` records who is on an alert (and tells the endpoints);
- :func:`send_test` queues a test webhook to one endpoint and makes one attempt right away.

The episode logic itself (`alerts.episodes`) does no I/O; this module is the edge around it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

import psycopg

from alerts.config import AlertsConfig
from alerts.edge_links import edge_limit
from alerts.episodes import Score, Transition, TransitionKind, evaluate
from alerts.errors import AlertNotFound, TargetError, UnknownEndpoint
from alerts.impact import late_orders_if_failed, maintenance_window
from alerts.lifecycle import annunciated
from alerts.outbox import Delivery, enqueue, get_delivery
from alerts.payload import AlertData, MachinePublic, RiskPublic, WebhookEvent, normalise_features
from alerts.rules import rules_for
from alerts.store import (
    Alert,
    expired_shelves,
    fetch_alert,
    journal,
    load_episode_state,
    open_alert,
    record_ack,
    record_shelve,
    record_transition,
    record_unshelve,
    save_episode_state,
)
from alerts.targets import Resolver, check_target, system_resolver
from millwright.core.storage.database import Database

if TYPE_CHECKING:  # the edge imports this module and sends its webhooks only in an outage
    import httpx

log = logging.getLogger(__name__)

EVENT_OF = {
    TransitionKind.OPEN: "alert.opened",
    TransitionKind.ESCALATE: "alert.escalated",
    TransitionKind.RESOLVE: "alert.resolved",
}
_MAX_SCORES = 10_000
MAX_COMMENT = 500
MAX_SHELF = timedelta(days=7)


class _Named(Protocol):
    username: str


@dataclass
class EvaluationReport:
    """What one :func:`evaluate_latest` pass did."""

    machines: int = 0
    scores: int = 0
    transitions: list[tuple[Alert, Transition]] = field(default_factory=list)
    deliveries: int = 0
    unshelved: int = 0
    held: int = 0  # scores of an edge's outage awaiting its sync


def dashboard_url(public_url: str, machine: str) -> str:
    """The machine's dashboard page."""
    return f"{public_url.rstrip('/')}/machines/{quote(machine, safe='')}"


def evaluate_latest(
    database: Database,
    config: AlertsConfig,
    *,
    public_url: str,
    now: datetime | None = None,
    machine_ids: Sequence[int] | None = None,
) -> EvaluationReport:
    """Advance every machine's episodes (or those of ``machine_ids``: a worker's lines) over
    the risk scores not seen yet."""
    now = now or datetime.now(UTC)
    report = EvaluationReport()
    active = database.execute("SELECT version FROM models WHERE status = 'active'")
    model_version = active[0][0] if active else None
    machines = database.execute(
        "SELECT id, name, machine_class FROM machines"
        " WHERE %(all)s OR id = ANY(%(ids)s) ORDER BY id",
        {"all": machine_ids is None, "ids": list(machine_ids or [])},
    )
    for machine_id, name, machine_class in machines:
        rules = rules_for(config.rules, name, machine_class)
        if not rules:
            continue
        report.machines += 1
        with database.connection() as conn:
            states = {rule.name: load_episode_state(conn, machine_id, rule.name) for rule in rules}
            floor = now - timedelta(hours=config.lookback_hours)
            # A machine seen for the first time is judged on recent scores only.
            since = {name_: state.last_ts or floor for name_, state in states.items()}
            scores = _scores_since(conn, machine_id, min(since.values()), model_version)
            # an edge's outage scores wait for its sync (alerts.edge_links)
            limit = edge_limit(
                conn, machine_id, scores[-1].ts if scores else None, now=now,
                hold_s=config.edge_hold_s,
            )  # fmt: skip
            if limit is not None:
                report.held += sum(1 for s in scores if s.ts > limit)
                scores = [s for s in scores if s.ts <= limit]
            report.scores += len(scores)
            for rule in rules:
                fresh = [s for s in scores if s.ts > since[rule.name]]
                result = evaluate(rule, states[rule.name], fresh)
                for transition in result.transitions:
                    current = open_alert(conn, machine_id, rule.name)
                    alert = record_transition(conn, machine_id, current, transition)
                    state = alert.lifecycle(now)
                    kind = transition.kind
                    if kind is not TransitionKind.RESOLVE and not annunciated(state):
                        # Suppressed, shelved or out of service: recorded, nobody paged.
                        why = "machine in planned maintenance" if state == "suppressed" else ""
                        action = "out_of_service" if state == "out_of_service" else "suppressed"
                        if state != "shelved":
                            journal(conn, alert.id, transition.ts, action, None, why)
                    else:
                        event = alert_event(
                            conn, alert, EVENT_OF[kind], config, public_url, now=now
                        )
                        report.deliveries += len(enqueue(conn, config, event, alert.id))
                    report.transitions.append((alert, transition))
                    log.info("alert %s %s: %s %s", alert.id, transition.kind, name, rule.name)
                save_episode_state(conn, machine_id, rule.name, result.state)
    report.unshelved = expire_shelves(database, config, public_url=public_url, now=now)
    return report


def expire_shelves(
    database: Database, config: AlertsConfig, *, public_url: str, now: datetime
) -> int:
    """Take every alarm whose shelf has run out off its shelf (journal and webhooks)."""
    with database.connection() as conn:
        ids = expired_shelves(conn, now)
        for alert_id in ids:
            alert = record_unshelve(conn, alert_id, now, None, "shelf expired")
            event = alert_event(conn, alert, "alert.unshelved", config, public_url, now=now)
            enqueue(conn, config, event, alert.id)
    return len(ids)


def _scores_since(
    conn: psycopg.Connection[Any], machine_id: int, since: datetime, model_version: str | None
) -> list[Score]:
    rows = conn.execute(
        "SELECT ts, p_fail, rul_low, rul, horizon_hours, model_version, top_features"
        " FROM risk_scores WHERE machine_id = %s AND ts > %s"
        " AND (%s::text IS NULL OR model_version = %s) ORDER BY ts LIMIT %s",
        (machine_id, since, model_version, model_version, _MAX_SCORES),
    ).fetchall()
    return [
        Score(
            ts=r[0],
            p_fail=r[1],
            rul_low=r[2],
            rul=r[3],
            horizon_hours=r[4],
            model_version=r[5],
            top_features=tuple(normalise_features(r[6])),
        )
        for r in rows
    ]


def alert_event(
    conn: psycopg.Connection[Any],
    alert: Alert,
    event_type: str,
    config: AlertsConfig,
    public_url: str,
    *,
    now: datetime | None = None,
) -> WebhookEvent:
    """The webhook event for ``alert``: machine, risk, drivers, plan window, late orders."""
    now = now or datetime.now(UTC)
    row = conn.execute(
        "SELECT name, line, machine_class, status FROM machines WHERE id = %s", (alert.machine_id,)
    ).fetchone()
    name, line, machine_class, status = row if row else (alert.machine, None, None, None)
    details = alert.details
    repair = timedelta(hours=config.assumed_repair_hours)
    data = AlertData(
        alert_id=alert.id,
        rule=alert.rule,
        severity=alert.severity.value,
        state=alert.state.value,
        opened_at=alert.opened_at,
        escalated_at=alert.escalated_at,
        resolved_at=alert.resolved_at,
        acked_at=alert.acked_at,
        acked_by=alert.acked_by,
        ack_comment=alert.ack_comment,
        lifecycle=alert.lifecycle(now).value,
        shelved_until=alert.shelved_until,
        shelved_by=alert.shelved_by,
        shelve_reason=alert.shelve_reason,
        machine=MachinePublic(
            name=name,
            line=line,
            machine_class=machine_class,
            status=status,
            dashboard_url=dashboard_url(public_url, name),
        ),
        risk=RiskPublic(
            p_fail=alert.p_fail,
            rul=details.get("rul"),
            rul_low=alert.rul_low,
            horizon_hours=details.get("horizon_hours"),
            model_version=details.get("model_version"),
            scored_at=details.get("scored_at"),
        ),
        top_features=normalise_features(details.get("top_features")),
        maintenance_window=maintenance_window(conn, alert.machine_id, now),
        late_orders=late_orders_if_failed(conn, alert.machine_id, now, repair),
        assumed_repair_hours=config.assumed_repair_hours,
        scored_at_edge=bool(details.get("scored_at_edge", False)),
        edge_episode=details.get("edge_episode"),
    )
    return WebhookEvent(type=event_type, timestamp=now, data=data.model_dump(mode="json"))


def acknowledge(
    database: Database,
    alert_id: int,
    user: str | _Named,
    *,
    config: AlertsConfig | None = None,
    public_url: str = "",
    now: datetime | None = None,
    comment: str | None = None,
) -> Alert:
    """Record that ``user`` is on alert ``alert_id``, with an optional ``comment``;
    idempotent (the first ack stands).

    With ``config``, endpoints subscribed to ``alert.acknowledged`` are told, in the same
    transaction. Raises `AlertNotFound` for an unknown id.
    """
    username = user if isinstance(user, str) else user.username
    now = now or datetime.now(UTC)
    if comment is not None and len(comment) > MAX_COMMENT:
        raise ValueError(f"an acknowledgement comment holds at most {MAX_COMMENT} characters.")
    with database.connection() as conn:
        before = fetch_alert(conn, alert_id, lock=True)
        if before.acknowledged:
            return before
        alert = record_ack(conn, alert_id, username, now, (comment or "").strip() or None)
        if config is not None and config.endpoints:
            event = alert_event(conn, alert, "alert.acknowledged", config, public_url, now=now)
            enqueue(conn, config, event, alert.id)
        return alert


def shelve(
    database: Database,
    alert_id: int,
    user: str | _Named,
    duration: timedelta,
    reason: str,
    *,
    config: AlertsConfig | None = None,
    public_url: str = "",
    now: datetime | None = None,
) -> Alert:
    """Shelve alert ``alert_id`` for ``duration`` with a ``reason``; the shelf expires on its
    own (the alarm reads as shelved only until then, and the next evaluation journals the
    expiry). Endpoints subscribed to ``alert.shelved`` are told."""
    username = user if isinstance(user, str) else user.username
    now = now or datetime.now(UTC)
    if not timedelta(minutes=1) <= duration <= MAX_SHELF:
        raise ValueError(f"a shelf lasts 1 min to {MAX_SHELF.days} days, got {duration}.")
    if len(reason) > MAX_COMMENT:
        raise ValueError(f"a shelving reason holds at most {MAX_COMMENT} characters.")
    with database.connection() as conn:
        fetch_alert(conn, alert_id, lock=True)
        alert = record_shelve(conn, alert_id, username, now, now + duration, reason)
        if config is not None and config.endpoints:
            event = alert_event(conn, alert, "alert.shelved", config, public_url, now=now)
            enqueue(conn, config, event, alert.id)
        return alert


def unshelve(
    database: Database,
    alert_id: int,
    user: str | _Named,
    *,
    config: AlertsConfig | None = None,
    public_url: str = "",
    now: datetime | None = None,
) -> Alert:
    """Take alert ``alert_id`` off its shelf before it expires."""
    username = user if isinstance(user, str) else user.username
    now = now or datetime.now(UTC)
    with database.connection() as conn:
        before = fetch_alert(conn, alert_id, lock=True)
        if before.shelved_until is None:
            return before
        alert = record_unshelve(conn, alert_id, now, username, "unshelved by hand")
        if config is not None and config.endpoints:
            event = alert_event(conn, alert, "alert.unshelved", config, public_url, now=now)
            enqueue(conn, config, event, alert.id)
        return alert


def set_out_of_service(
    database: Database,
    machine: str,
    user: str | _Named,
    reason: str,
    *,
    in_service: bool = False,
    now: datetime | None = None,
) -> int:
    """Take a machine's alarms out of service (or, ``in_service``, return them); returns how
    many of its active alarms changed state, each journalled."""
    username = user if isinstance(user, str) else user.username
    now = now or datetime.now(UTC)
    with database.connection() as conn:
        row = conn.execute("SELECT id FROM machines WHERE name = %s", (machine,)).fetchone()
        if row is None:
            raise AlertNotFound(f"no machine named {machine!r}")
        machine_id = int(row[0])
        if in_service:
            conn.execute("DELETE FROM alarm_out_of_service WHERE machine_id = %s", (machine_id,))
        else:
            conn.execute(
                "INSERT INTO alarm_out_of_service (machine_id, since, set_by, reason)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (machine_id) DO UPDATE SET"
                " since = EXCLUDED.since, set_by = EXCLUDED.set_by, reason = EXCLUDED.reason",
                (machine_id, now, username, reason),
            )
        active = conn.execute(
            "SELECT id FROM alerts WHERE machine_id = %s AND state <> 'resolved'", (machine_id,)
        ).fetchall()
        for (alert_id,) in active:
            comment = f"returned to service: {reason}" if in_service else reason
            journal(conn, int(alert_id), now, "out_of_service", username, comment)
        return len(active)


def send_test(
    database: Database,
    config: AlertsConfig,
    endpoint: str,
    *,
    transport: httpx.BaseTransport | None = None,
    resolver: Resolver = system_resolver,
) -> Delivery:
    """Queue a ``webhook.test`` event to ``endpoint``, try it once now, return its state.

    A failed test stays in the outbox and is retried like any delivery.
    """
    from alerts.dispatcher import Dispatcher  # httpx: loaded by what sends

    if config.endpoint(endpoint) is None:
        known = ", ".join(e.name for e in config.endpoints) or "none configured"
        raise UnknownEndpoint(f"no endpoint {endpoint!r} in [alerts].endpoints ({known})")
    now = datetime.now(UTC)
    event = WebhookEvent(
        type="webhook.test", timestamp=now, data={"endpoint": endpoint, "message": "test"}
    )
    with database.connection() as conn:
        (delivery_id,) = enqueue(conn, config, event, None, only=endpoint)
    with Dispatcher(database, config, transport=transport, resolver=resolver) as dispatcher:
        dispatcher.dispatch_due(limit=1, only=delivery_id)
    delivery = get_delivery(database, delivery_id)
    assert delivery is not None
    return delivery


def check_endpoints(
    config: AlertsConfig, *, resolver: Resolver = system_resolver
) -> dict[str, str | None]:
    """Each endpoint's SSRF verdict now (name → problem, None when fine), for start-up.

    The dispatcher checks again before every send; this tells the operator early.
    """
    verdicts: dict[str, str | None] = {}
    for endpoint in config.endpoints:
        try:
            check_target(
                endpoint.url,
                allow_private=endpoint.allow_private,
                allow_metadata=endpoint.allow_metadata,
                resolver=resolver,
            )
            verdicts[endpoint.name] = None
        except TargetError as exc:
            verdicts[endpoint.name] = str(exc)
    return verdicts
