"""The ISA-18.2 alarm lifecycle: states, ack with comment, shelving and its expiry,
suppression by design, out of service, the journal, KPIs on a seeded flood, PagerDuty."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TypedDict

import pytest

import alerts
from alerts import Activation, AlarmFilter, AlarmState, alarm_kpis, alarm_state
from alerts.dispatcher import Dispatcher
from alerts.outbox import list_deliveries
from alerts.payload import WebhookEvent, body_for
from millwright.core.storage.database import Database
from tests.alerts.conftest import Receiver, add_machine, make_config
from tests.alerts.test_service import add_scores

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
PUBLIC = "https://millwright.example.com/"


class _Context(TypedDict):
    """What `alarm_state` takes besides the alarm's own flags and the time."""

    shelved_until: datetime | None
    machine_status: str | None
    out_of_service: bool


def seed_flood(database: Database, start: datetime) -> dict[str, int]:
    """One hour of alarms: 15 in 06:10-06:20, 12 in 06:30-06:40, 3 in 06:40-06:50, 2 at 06:55.

    press-1 raises 20 of them, mill-2 9, oven-3 3; two stay open (one opened 30 h ago).
    """
    ids = {name: add_machine(database, name) for name in ("press-1", "mill-2", "oven-3")}
    rows: list[tuple[int, str, datetime]] = []
    schedule = (
        [(10 + i * 0.5, "press-1") for i in range(15)]
        + [(30 + i * 0.5, "press-1" if i < 5 else "mill-2") for i in range(12)]
        + [(41, "mill-2"), (42, "mill-2"), (44, "oven-3")]
        + [(55, "oven-3"), (56, "oven-3")]
    )
    for minute, machine in schedule:
        rows.append((ids[machine], "risk", start + timedelta(minutes=minute)))
    with database.connection() as conn:
        for machine_id, rule, at in rows:
            conn.execute(
                "INSERT INTO alerts (machine_id, rule, severity, state, opened_at, resolved_at)"
                " VALUES (%s, %s, 'warning', 'resolved', %s, %s)",
                (machine_id, rule, at, at + timedelta(minutes=1)),
            )
        for machine_id, opened in ((ids["press-1"], start - timedelta(hours=30)),
                                   (ids["mill-2"], start + timedelta(minutes=50))):  # fmt: skip
            conn.execute(
                "INSERT INTO alerts (machine_id, rule, severity, state, opened_at)"
                " VALUES (%s, 'rul', 'critical', 'open', %s)",
                (machine_id, opened),
            )
    return ids


def test_states_follow_isa_18_2_precedence() -> None:
    now = T0
    later = now + timedelta(hours=1)
    base: _Context = {"shelved_until": None, "machine_status": "running", "out_of_service": False}
    assert (
        alarm_state(active=True, acknowledged=False, now=now, **base) is AlarmState.UNACKNOWLEDGED
    )
    assert alarm_state(active=True, acknowledged=True, now=now, **base) is AlarmState.ACKNOWLEDGED
    assert (
        alarm_state(active=False, acknowledged=False, now=now, **base)
        is AlarmState.RETURNED_UNACKNOWLEDGED
    )
    assert alarm_state(active=False, acknowledged=True, now=now, **base) is AlarmState.NORMAL
    shelved: _Context = {**base, "shelved_until": later}
    assert alarm_state(active=True, acknowledged=False, now=now, **shelved) is AlarmState.SHELVED
    # The shelf expires on its own: past its end the alarm is back.
    assert (
        alarm_state(active=True, acknowledged=False, now=later, **shelved)
        is AlarmState.UNACKNOWLEDGED
    )
    maint: _Context = {**shelved, "machine_status": "maintenance"}
    assert alarm_state(active=True, acknowledged=False, now=now, **maint) is AlarmState.SUPPRESSED
    oos: _Context = {**maint, "out_of_service": True}
    assert alarm_state(active=True, acknowledged=True, now=now, **oos) is AlarmState.OUT_OF_SERVICE


def test_kpis_on_a_seeded_flood_are_exact(database: Database) -> None:
    seed_flood(database, T0)
    kpis = alerts.kpis(database, T0, T0 + timedelta(hours=1), T0 + timedelta(hours=1))
    # 33 activations in the hour (32 resolved + the one opened at 06:50) over 6 intervals.
    assert kpis.activations == 33
    assert kpis.intervals == 6
    assert kpis.alarms_per_10min == pytest.approx(33 / 6)
    # 06:10-06:20 holds 15 and 06:30-06:40 holds 12: two of six intervals in flood.
    assert kpis.flood_intervals == 2
    assert kpis.flood_share == pytest.approx(1 / 3)
    assert kpis.peak_10min == 15
    assert kpis.stale == 1  # press-1's alarm open for 31 h
    actors = [(a.machine, a.rule, a.count) for a in kpis.bad_actors]
    assert actors == [("press-1", "risk", 20), ("mill-2", "risk", 9), ("oven-3", "risk", 3),
                      ("mill-2", "rul", 1)]  # fmt: skip
    assert kpis.bad_actors[0].share == pytest.approx(20 / 33)
    two = alarm_kpis(
        [Activation(T0 + timedelta(seconds=30 * m), "a", "r") for m in range(12)],
        T0,
        T0 + timedelta(minutes=20),
        operators=2,
    )
    assert (two.alarms_per_10min, two.flood_intervals) == (3.0, 1)


def test_ack_with_comment_shelve_expiry_and_journal(database: Database, receiver: Receiver) -> None:
    config = make_config(receiver.url)
    machine_id = add_machine(database)
    add_scores(database, machine_id, [0.6] * 4, T0)
    alerts.evaluate_latest(database, config, public_url=PUBLIC, now=T0)
    (alert,) = alerts.list_alerts(database)
    assert alert.lifecycle(T0) is AlarmState.UNACKNOWLEDGED

    acked = alerts.acknowledge(
        database, alert.id, "fixer", config=config, now=T0, comment="bearing ordered"
    )
    assert (acked.acked_by, acked.ack_comment) == ("fixer", "bearing ordered")
    shelved = alerts.shelve(
        database, alert.id, "fixer", timedelta(hours=2), "sensor being replaced", config=config,
        now=T0 + timedelta(minutes=5),
    )  # fmt: skip
    assert shelved.lifecycle(T0 + timedelta(hours=1)) is AlarmState.SHELVED
    assert shelved.shelved_until == T0 + timedelta(hours=2, minutes=5)

    # The shelf ends by itself; the next evaluation journals it and tells the endpoints.
    report = alerts.evaluate_latest(
        database, config, public_url=PUBLIC, now=T0 + timedelta(hours=3)
    )
    assert report.unshelved == 1
    after = alerts.get_alert(database, alert.id)
    assert after.shelved_until is None
    assert after.lifecycle(T0 + timedelta(hours=3)) is AlarmState.ACKNOWLEDGED
    history = alerts.history_of(database, [alert.id])[alert.id]
    assert [(e.action, e.actor, e.comment) for e in history] == [
        ("opened", None, None),
        ("acknowledged", "fixer", "bearing ordered"),
        ("shelved", "fixer", "sensor being replaced"),
        ("unshelved", None, "shelf expired"),
    ]
    events = [d.event_type for d in list_deliveries(database)]
    assert sorted(events) == sorted(
        ["alert.opened", "alert.acknowledged", "alert.shelved", "alert.unshelved"]
    )
    with pytest.raises(ValueError, match="reason"):
        alerts.shelve(database, alert.id, "fixer", timedelta(hours=1), " ", now=T0)
    with pytest.raises(ValueError, match="1 min to 7 days"):
        alerts.shelve(database, alert.id, "fixer", timedelta(days=8), "x", now=T0)


def test_suppressed_by_design_and_out_of_service_page_nobody(
    database: Database, receiver: Receiver
) -> None:
    config = make_config(receiver.url)
    machine_id = add_machine(database)
    other = add_machine(database, "mill-2")
    database.execute("UPDATE machines SET status = 'maintenance' WHERE id = %s", (machine_id,))
    alerts.set_out_of_service(database, "mill-2", "fixer", "probe removed", now=T0)
    add_scores(database, machine_id, [0.6] * 3, T0)
    add_scores(database, other, [0.6] * 3, T0)
    report = alerts.evaluate_latest(database, config, public_url=PUBLIC, now=T0)
    assert len(report.transitions) == 2 and report.deliveries == 0
    states = {a.machine: a.lifecycle(T0) for a in alerts.list_alerts(database)}
    assert states == {"press-1": AlarmState.SUPPRESSED, "mill-2": AlarmState.OUT_OF_SERVICE}
    page = alerts.list_alarms(database, AlarmFilter(states=(AlarmState.SUPPRESSED,)), T0, limit=10)
    assert [a.machine for a in page.alarms] == ["press-1"]
    assert [e.action for e in page.history[page.alarms[0].id]] == ["opened", "suppressed"]
    alerts.set_out_of_service(database, "mill-2", "fixer", "probe back", in_service=True, now=T0)
    assert {a.machine: a.lifecycle(T0) for a in alerts.list_alerts(database)}["mill-2"] is (
        AlarmState.UNACKNOWLEDGED
    )


def test_journal_sql_state_agrees_with_the_domain_and_pages(database: Database) -> None:
    seed_flood(database, T0)
    now = T0 + timedelta(hours=1)
    everything = alerts.list_alarms(database, AlarmFilter(), now, limit=1000)
    assert everything.total == 34
    for state in AlarmState:
        page = alerts.list_alarms(database, AlarmFilter(states=(state,)), now, limit=1000)
        expected = [a.id for a in everything.alarms if a.lifecycle(now) is state]
        assert sorted(a.id for a in page.alarms) == sorted(expected)
    first = alerts.list_alarms(database, AlarmFilter(machine="oven-3"), now, limit=2)
    second = alerts.list_alarms(database, AlarmFilter(machine="oven-3"), now, limit=2, offset=2)
    assert (first.total, len(first.alarms), len(second.alarms)) == (3, 2, 1)
    critical = alerts.list_alarms(database, AlarmFilter(severity="critical"), now)
    assert critical.total == 2 and critical.alarms[0].active
    window = alerts.list_alarms(
        database, AlarmFilter(since=T0 + timedelta(minutes=54), until=now), now, limit=100
    )
    assert window.total == 4  # 06:55, 06:56, the open one from 06:50 and the 30-h-old one


def test_pagerduty_body_uses_the_alarm_id_as_dedup_key(
    database: Database, receiver: Receiver
) -> None:
    config = make_config(
        receiver.url, kind="pagerduty", secrets=[], routing_key="R0UT1NGKEY0123456789abcdef01234"
    )
    machine_id = add_machine(database)
    add_scores(database, machine_id, [0.6] * 3, T0)
    alerts.evaluate_latest(database, config, public_url=PUBLIC, now=T0)
    (alert,) = alerts.list_alerts(database)
    alerts.acknowledge(database, alert.id, "fixer", config=config, now=T0, comment="on it")
    stored = [d.payload for d in list_deliveries(database)]
    assert all("routing_key" not in body for body in stored)  # the key is never stored
    with Dispatcher(database, config) as dispatcher:
        assert dispatcher.dispatch_due().delivered == 2
    sent = sorted((json.loads(r.body) for r in receiver.requests), key=lambda b: b["event_action"])
    assert [b["event_action"] for b in sent] == ["acknowledge", "trigger"]
    for body in sent:
        assert body["dedup_key"] == str(alert.id)
        assert body["routing_key"] == "R0UT1NGKEY0123456789abcdef01234"
    trigger = sent[1]["payload"]
    assert (trigger["source"], trigger["severity"], trigger["class"]) == (
        "press-1", "warning", "risk",
    )  # fmt: skip
    resolved = WebhookEvent(type="alert.resolved", timestamp=T0, data={"alert_id": 7})
    assert body_for("pagerduty", resolved)["event_action"] == "resolve"
    with pytest.raises(ValueError, match="routing_key"):
        make_config(receiver.url, kind="pagerduty", secrets=[])
