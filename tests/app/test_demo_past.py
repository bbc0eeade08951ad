"""The demo's recorded past as the Outcomes page reads it: the alert rules run over past
scores become whole, resolved episodes beside a live episode of the same rule, nobody paged;
the demo's tiles, alert rules and plan share one notion of "at risk"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from millwright.app.demo.past import _replay_alerts, _replayed
from millwright.app.demo.plant import DemoEndpoints, DemoOptions, demo_config, new_webhook_secret
from millwright.app.settings import Settings
from millwright.core.storage import Database
from sim.db_sinks import DatabaseEventSink

T0 = datetime(2026, 10, 1, tzinfo=UTC)


def _demo_settings() -> Settings:
    endpoints = DemoEndpoints(
        8000, 8050, "127.0.0.1", 1883, 4840, 9100, 9101, "http://x", new_webhook_secret()
    )
    config = demo_config(DemoOptions(), endpoints, T0)
    return Settings.model_validate(
        {k: config[k] for k in ("alerts", "dashboard", "scheduler", "models")}
    )


def test_one_notion_of_at_risk_for_tiles_alerts_and_plan() -> None:
    settings = _demo_settings()
    (rule,) = settings.alerts.rules
    board, plan = settings.dashboard, settings.scheduler
    assert rule.warning_p_fail == board.warning_p_fail == plan.risk_maintenance_p_fail
    assert rule.warning_rul_low == board.warning_rul_low_h == plan.risk_maintenance_hours
    assert plan.risk_maintenance_hours is not None
    assert plan.risk_maintenance_hours < plan.horizon_hours, "not every machine in the horizon"


def test_past_episodes_are_stored_whole_beside_a_live_one(database: Database) -> None:
    sink = DatabaseEventSink(database)
    sink.register_machines([("m-001", "line-1"), ("m-002", "line-1")])
    (machine_id,) = database.execute("SELECT id FROM machines WHERE name = 'm-001'")[0]
    live = T0 + timedelta(days=10)
    database.execute(  # the live plant's episode of the same rule, still open
        "INSERT INTO alerts (machine_id, rule, severity, state, opened_at)"
        " VALUES (%s, 'risk', 'warning', 'open', %s)",
        (machine_id, live),
    )
    # p_fail every 30 min: an episode from 1 h to 2.5 h (resolved at 0.25 or below), another
    # from 5 h that the past leaves open (closed at the last score, 6 h)
    p = [0.05, 0.05, 0.6, 0.9, 0.4, 0.2, 0.1, 0.05, 0.05, 0.05, 0.5, 0.6, 0.7]
    rows = pd.DataFrame(
        {
            "machine_id": [machine_id] * len(p),
            "ts": [T0 + timedelta(minutes=30 * i) for i in range(len(p))],
            "p_fail": p,
            "rul_low": [100.0] * len(p),
            "rul": [120.0] * len(p),
        }
    )
    assert not _replayed(database)
    stored = _replay_alerts(database, _demo_settings(), rows, "mdl-test", 24.0)
    assert stored == 2
    assert _replayed(database)
    past = database.execute(
        "SELECT severity, state, opened_at, escalated_at, resolved_at FROM alerts"
        " WHERE details ? 'replayed' ORDER BY opened_at"
    )
    at = [T0 + timedelta(minutes=30 * i) for i in range(len(p))]
    assert past == [
        ("critical", "resolved", at[2], at[3], at[5]),  # 0.9 ≥ 0.8 escalates; 0.2 ≤ 0.25 ends
        ("warning", "resolved", at[10], None, at[12]),
    ]
    live_rows = database.execute("SELECT state FROM alerts WHERE NOT details ? 'replayed'")
    assert live_rows == [("open",)], "the live episode is untouched"
    assert database.execute("SELECT count(*) FROM webhook_deliveries") == [(0,)], "no pages"
    journal = database.execute(
        "SELECT j.action FROM alert_journal j JOIN alerts a ON a.id = j.alert_id"
        " WHERE a.opened_at = %s ORDER BY j.at, j.id",
        (at[2],),
    )
    assert [r[0] for r in journal] == ["opened", "escalated", "resolved"]
