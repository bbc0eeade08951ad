"""Callbacks as plain functions against the seeded plant: what each page shows, and who may
act. Role checks are exercised here directly; `test_auth` exercises them through HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.callbacks.alerts import acknowledge_alert, alerts_view
from dashboard.callbacks.machine import machine_view
from dashboard.callbacks.overview import overview_view
from dashboard.callbacks.schedule import request_reschedule, schedule_view
from dashboard.context import DashboardContext
from dashboard.errors import AccessDenied
from millwright.core.storage.database import Database
from millwright.core.users import Role, User
from tests.dashboard.components import text_of, walk, with_class
from tests.dashboard.plant import MACHINES, Plant

VIEWER = User(11, "vera", frozenset({Role.VIEWER}))
PLANNER = User(12, "paul", frozenset({Role.PLANNER}))
FIXER = User(13, "mia", frozenset({Role.MAINTENANCE}))


def test_overview_tiles_grouped_by_line_and_coloured_by_risk(
    context: DashboardContext, plant: Plant
) -> None:
    summary, lines, stamp = overview_view(context, plant.now + timedelta(seconds=30))
    assert "6 machines" in text_of(summary)
    assert "2 open alerts" in text_of(summary)
    assert [text_of(s.children[0]) for s in lines] == ["Line A", "Line B"]
    tiles = {t.to_plotly_json()["props"]["data-machine"]: t for t in with_class(lines, "tile")}
    assert sorted(tiles) == sorted(m[0] for m in MACHINES)
    assert "risk-critical" in tiles["press-01"].className
    assert "risk-warning" in tiles["mill-05"].className
    assert "risk-ok" in tiles["press-02"].className
    assert "risk-unknown" in tiles["oven-06"].className
    assert "tile-stale" in tiles["oven-06"].className  # silent for a day
    assert "tile-stale" not in tiles["press-01"].className
    assert "1 alert" in text_of(tiles["press-01"])
    links = [c.href for c in walk(lines) if getattr(c, "href", None)]
    assert "/machine/press-01" in links
    assert stamp.to_plotly_json()["props"]["data-updated"].startswith(str(plant.now.date()))


def test_machine_view_shows_trends_risk_features_and_events(
    context: DashboardContext, plant: Plant
) -> None:
    view = machine_view(context, "press-01", "24h", [1, 2, 3], plant.now)
    assert view is not None
    header = text_of(view.header)
    assert "85%" in header and "12 h" in header and "v2" in header
    assert "5 min buckets" in view.trends_title
    assert len(view.trends["data"]) == 9  # 3 sensors x (max, min band, average)
    versions = {t.name for t in view.risk.data if t.name and t.name.startswith("model")}
    assert versions == {"model v1", "model v2"}
    assert [t.name for t in view.risk.data if t.mode == "markers"] == ["alert", "repair"]
    assert list(view.features.data[0].y) == [
        "pressure_mean_1h", "temperature_slope_6h", "vibration_rms_1h",
    ]  # fmt: skip
    assert machine_view(context, "no-such-machine", "24h", [], plant.now) is None


def test_schedule_view_distinguishes_production_late_and_maintenance(
    context: DashboardContext, plant: Plant
) -> None:
    info, gantt, late, _ = schedule_view(context, plant.now)
    assert "1 late jobs" in text_of(info) and "1 maintenance tasks" in text_of(info)
    traces = {t.name: t for t in gantt.data}
    assert set(traces) == {"Production", "Late job", "Maintenance"}
    assert list(traces["Late job"].text) == ["J-101"]
    hover = traces["Maintenance"].hovertext[0]
    assert "p_fail 85%" in hover and "rul_low 12 h" in hover and "model v2" in hover
    assert "J-101" in text_of(late) and "60 min" in text_of(late)


def test_only_a_planner_may_request_a_reschedule(
    context: DashboardContext, database: Database, plant: Plant
) -> None:
    for user in (None, VIEWER, FIXER):
        with pytest.raises(AccessDenied):
            request_reschedule(context, user)
    assert database.execute("SELECT count(*) FROM schedules WHERE state = 'requested'") == [(0,)]
    message = request_reschedule(context, PLANNER)
    assert "queued" in message
    rows = database.execute("SELECT requested_by FROM schedules WHERE state = 'requested'")
    assert rows == [("paul",)]
    info, *_ = schedule_view(context, plant.now)
    assert "requested" in text_of(info)


def test_acknowledging_needs_maintenance_or_planner(
    context: DashboardContext, database: Database, plant: Plant
) -> None:
    alert = plant.alert_ids["press-01"]
    with pytest.raises(AccessDenied, match="maintenance or planner"):
        acknowledge_alert(context, VIEWER, alert)
    assert database.execute("SELECT acked_by FROM alerts WHERE id = %s", (alert,)) == [(None,)]
    assert "acknowledged by mia" in acknowledge_alert(context, FIXER, alert)
    assert "acknowledged by paul" in acknowledge_alert(context, PLANNER, plant.alert_ids["mill-05"])
    table, _ = alerts_view(context, FIXER, plant.now)
    assert "mia" in text_of(table) and "paul" in text_of(table)


def test_alert_buttons_are_disabled_for_viewers(context: DashboardContext, plant: Plant) -> None:
    table, _ = alerts_view(context, VIEWER, plant.now)
    buttons = [c for c in walk(table) if isinstance(getattr(c, "id", None), dict)]
    assert len(buttons) == 2 and all(b.disabled for b in buttons)
    table, _ = alerts_view(context, FIXER, plant.now)
    buttons = [c for c in walk(table) if isinstance(getattr(c, "id", None), dict)]
    assert not any(b.disabled for b in buttons)
