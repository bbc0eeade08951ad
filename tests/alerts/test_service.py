"""Evaluation into the alerts table and the outbox, payloads, acknowledgement, listing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from alerts.config import AlertsConfig, RuleConfig
from alerts.dispatcher import Dispatcher
from alerts.episodes import AlertState, Severity
from alerts.errors import AlertNotFound, UnknownEndpoint
from alerts.outbox import DeliveryState, list_deliveries
from alerts.service import acknowledge, evaluate_latest, send_test
from alerts.signing import verify
from alerts.store import get_alert, list_alerts
from millwright.core.storage.database import Database
from tests.alerts.conftest import SECRET, Receiver, add_machine, make_config
from tests.alerts.test_episodes import noisy

NOW = datetime.now(UTC).replace(microsecond=0)
PUBLIC = "https://millwright.example.com/"


def config_for(url: str, **endpoint: object) -> AlertsConfig:
    base = make_config(url, **endpoint)
    rule = RuleConfig(
        name="risk", warning_p_fail=0.5, critical_p_fail=0.9, resolve_p_fail=0.3, min_duration_s=600
    )
    return base.model_copy(update={"rules": [rule]})


def add_scores(database: Database, machine_id: int, values: list[float], end: datetime) -> None:
    start = end - timedelta(minutes=5) * (len(values) - 1)
    features = json.dumps([{"feature": "vibration_rms_1h", "contribution": 0.31}, ["temp", 0.1]])
    with database.connection() as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO risk_scores (ts, machine_id, model_version, horizon_hours, p_fail,"
            " rul, rul_low, top_features) VALUES (%s, %s, 'm1', 24, %s, 300, 200, %s)",
            [
                (start + timedelta(minutes=5) * i, machine_id, v, features)
                for i, v in enumerate(values)
            ],
        )


def add_plan(database: Database, machine_id: int) -> None:
    """A current plan: maintenance on the machine in 6 h, and two jobs with work on it."""
    rows = database.execute(
        "INSERT INTO schedules (state, is_current) VALUES ('done', true) RETURNING id"
    )
    plan = rows[0][0]
    database.execute(
        "INSERT INTO schedule_assignments (schedule_id, kind, machine_id, start_at, end_at,"
        " reason) VALUES (%s, 'maintenance', %s, %s, %s, %s)",
        (
            plan,
            machine_id,
            NOW + timedelta(hours=6),
            NOW + timedelta(hours=8),
            json.dumps({"driver": "rul_low"}),
        ),
    )
    # Job A: due 3 h after its planned finish (8 h repair makes it late).
    # Job B: due 12 h after its planned finish (an 8 h repair still fits).
    for external_id, slack_h in (("A-100", 3), ("B-200", 12)):
        job = database.execute(
            "INSERT INTO jobs (external_id, release_at, due_at) VALUES (%s, %s, %s) RETURNING id",
            (external_id, NOW, NOW + timedelta(hours=2 + slack_h)),
        )[0][0]
        op = database.execute(
            "INSERT INTO operations (job_id, seq, machine_id) VALUES (%s, 0, %s) RETURNING id",
            (job, machine_id),
        )[0][0]
        database.execute(
            "INSERT INTO schedule_assignments (schedule_id, kind, operation_id, machine_id,"
            " start_at, end_at) VALUES (%s, 'operation', %s, %s, %s, %s)",
            (plan, op, machine_id, NOW + timedelta(hours=1), NOW + timedelta(hours=2)),
        )


def test_noisy_scores_make_one_alert_and_its_deliveries_together(
    database: Database, receiver: Receiver
) -> None:
    machine_id = add_machine(database)
    add_plan(database, machine_id)
    values = noisy()[:90]  # quiet, then an episode still in progress
    add_scores(database, machine_id, values, NOW)
    config = config_for(receiver.url)

    report = evaluate_latest(database, config, public_url=PUBLIC, now=NOW)
    assert [t.kind.value for _, t in report.transitions] == ["open"]
    (alert,) = list_alerts(database)
    assert (alert.machine, alert.rule, alert.severity, alert.state) == (
        "press-1",
        "risk",
        Severity.WARNING,
        AlertState.OPEN,
    )
    (delivery,) = list_deliveries(database, alert_id=alert.id)
    assert delivery.event_type == "alert.opened" and delivery.state is DeliveryState.PENDING

    data = delivery.payload["data"]
    assert delivery.payload["type"] == "alert.opened"
    assert data["machine"]["dashboard_url"] == "https://millwright.example.com/machines/press-1"
    assert data["machine"]["machine_class"] == "press"
    assert data["risk"]["model_version"] == "m1" and data["risk"]["rul_low"] == 200
    assert data["top_features"][0] == {"feature": "vibration_rms_1h", "contribution": 0.31}
    assert data["top_features"][1] == {"feature": "temp", "contribution": 0.1}
    window = data["maintenance_window"]
    assert datetime.fromisoformat(window["start_at"]) == NOW + timedelta(hours=6)
    assert window["reason"] == {"driver": "rul_low"}
    assert [o["external_id"] for o in data["late_orders"]] == ["A-100"]
    assert data["late_orders"][0]["lateness_hours"] == pytest.approx(5.0)

    # Re-running sees nothing new; more noisy scores inside the band change nothing.
    assert evaluate_latest(database, config, public_url=PUBLIC, now=NOW).transitions == []
    add_scores(database, machine_id, [0.45, 0.55, 0.42, 0.6], NOW + timedelta(minutes=20))
    assert evaluate_latest(database, config, public_url=PUBLIC, now=NOW).transitions == []

    with Dispatcher(database, config) as dispatcher:
        assert dispatcher.dispatch_due().delivered == 1
    (request,) = receiver.requests
    assert verify(SECRET, request.headers, request.body) == delivery.id

    add_scores(database, machine_id, [0.1, 0.1], NOW + timedelta(minutes=30))
    report = evaluate_latest(database, config, public_url=PUBLIC, now=NOW)
    assert [t.kind.value for _, t in report.transitions] == ["resolve"]
    assert get_alert(database, alert.id).state is AlertState.RESOLVED


def test_acknowledge_is_idempotent_and_notifies(database: Database, receiver: Receiver) -> None:
    machine_id = add_machine(database)
    add_scores(database, machine_id, [0.95] * 4, NOW)
    config = config_for(receiver.url)
    evaluate_latest(database, config, public_url=PUBLIC, now=NOW)
    (alert,) = list_alerts(database, state="open")
    assert alert.severity is Severity.CRITICAL and not alert.acknowledged

    acked = acknowledge(database, alert.id, "maria", config=config, public_url=PUBLIC)
    assert acked.acked_by == "maria" and acked.acked_at is not None
    again = acknowledge(database, alert.id, "tom", config=config, public_url=PUBLIC)
    assert again.acked_by == "maria" and again.acked_at == acked.acked_at
    events = sorted(d.event_type for d in list_deliveries(database, alert_id=alert.id))
    assert events == ["alert.acknowledged", "alert.opened"]

    with pytest.raises(AlertNotFound):
        acknowledge(database, 999_999, "maria")
    assert list_alerts(database, machine="other") == []
    assert list_alerts(database, state=AlertState.RESOLVED) == []


def test_send_test_and_unknown_endpoint(database: Database, receiver: Receiver) -> None:
    config = make_config(receiver.url, kind="slack", secrets=[])
    delivery = send_test(database, config, "rx")
    assert delivery.state is DeliveryState.DELIVERED
    (request,) = receiver.requests
    assert json.loads(request.body)["text"] == "Millwright test webhook"
    assert "webhook-signature" not in request.headers and request.headers["webhook-id"]
    with pytest.raises(UnknownEndpoint, match="rx"):
        send_test(database, config, "nope")
