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
    chips, summary, lines, stamp = overview_view(context, plant.now + timedelta(seconds=30))
    assert "6 machines" in text_of(summary)
    assert "2 open alerts" in text_of(summary)
    assert [text_of(s.children[0]) for s in lines] == ["Line A", "Line B"]
    tiles = {t.to_plotly_json()["props"]["data-machine"]: t for t in with_class(lines, "tile")}
    assert sorted(tiles) == sorted(m[0] for m in MACHINES)
    assert "risk-critical" in tiles["press-01"].className
    assert "risk-warning" in tiles["mill-05"].className
    assert "risk-ok" in tiles["press-02"].className
    # Status wins over risk: a down machine is not "risk ok", it is DOWN for 3 h.
    assert "risk-ok" not in tiles["lathe-03"].className
    assert "DOWN for 3 h" in text_of(tiles["lathe-03"])
    assert "risk ok" not in text_of(tiles["lathe-03"])
    assert "OFFLINE" in text_of(tiles["oven-06"])
    assert "tile-stale" in tiles["oven-06"].className  # silent for a day
    assert "tile-stale" not in tiles["press-01"].className
    assert "1 alert" in text_of(tiles["press-01"])
    assert "failure risk (24 h)" in text_of(tiles["press-01"])
    links = [c.href for c in walk(lines) if getattr(c, "href", None)]
    assert "/machine/press-01" in links
    assert stamp.to_plotly_json()["props"]["data-updated"].startswith(str(plant.now.date()))
    assert "risk" in text_of(chips) and "Line B" in text_of(chips)


def test_overview_sorts_and_filters_by_the_url(context: DashboardContext, plant: Plant) -> None:
    _, _, lines, _ = overview_view(context, plant.now, "?sort=risk")
    order = [t.to_plotly_json()["props"]["data-machine"] for t in with_class(lines, "tile")]
    assert order[:2] == ["press-01", "mill-05"]  # critical, then warning
    _, _, lines, _ = overview_view(context, plant.now, "?line=Line+B&status=running")
    order = [t.to_plotly_json()["props"]["data-machine"] for t in with_class(lines, "tile")]
    assert order == ["mill-05"]


def test_machine_view_shows_trends_risk_features_and_events(
    context: DashboardContext, plant: Plant
) -> None:
    view = machine_view(context, "press-01", "?range=24h", [1, 2, 3], plant.now)
    assert view is not None
    header = text_of(view.header)
    assert "85%" in header and "12 h" in header and "v2" in header
    assert "Failure risk (next 24 h)" in header and "Remaining life, 10 % low estimate" in header
    assert "5 min buckets" in view.trends_title
    assert len(view.trends["data"]) == 6  # 3 sensors x (band polygon, average)
    versions = {t.name for t in view.risk.data if t.name and t.name.startswith("model")}
    assert versions == {"model v1", "model v2"}
    assert [t.name for t in view.risk.data if t.mode == "markers"] == ["alert", "repair"]
    # The threshold lines are the alert rule's (50 % / 80 %, 48 h / 24 h), labelled.
    labels = sorted(a.text for a in view.risk.layout.annotations if "alert" in (a.text or ""))
    assert labels == ["alert: critical 24 h", "alert: critical 80%", "alert: warning 48 h",
                      "alert: warning 50%"]  # fmt: skip
    # Top features in words, each with its value and the machine's healthy value.
    ticks = list(view.features.layout.yaxis.ticktext)
    assert ticks == [
        "pressure · mean over 1 h<br><span style='font-size:11px'>now 71 (healthy 70)</span>",
        "temperature · trend per hour over 6 h<br><span style='font-size:11px'>now 0.8 °C/h"
        " (healthy 0 °C/h)</span>",
        "vibration · spread (std) over 1 h<br><span style='font-size:11px'>now 2.4"
        " (healthy 0.3)</span>",
    ]
    units = [view.trends["layout"][k]["title"]["text"] for k in ("yaxis", "yaxis2", "yaxis3")]
    assert units == ["", "°C", ""]  # pressure, temperature, vibration
    assert machine_view(context, "no-such-machine", "", [], plant.now) is None


def test_a_down_machine_says_why_and_since_when(context: DashboardContext, plant: Plant) -> None:
    view = machine_view(context, "lathe-03", "", None, plant.now)
    assert view is not None
    header = text_of(view.header)
    assert "DOWN for 3 h" in header
    assert "failure E42 (from plc)" in header
    assert "not applicable while not running" in header


def test_schedule_view_distinguishes_production_late_and_maintenance(
    context: DashboardContext, plant: Plant
) -> None:
    status, info, gantt, late, _ = schedule_view(context, plant.now)
    assert "1 late orders" in text_of(info) and "1 maintenance tasks" in text_of(info)
    assert "OK" in text_of(status) and "OPTIMAL" in text_of(status)
    traces = {t.name: t for t in gantt.data}
    assert set(traces) == {"Closed / down", "Production", "Late order", "Maintenance"}
    assert list(traces["Late order"].text) == ["J-101"]
    assert list(traces["Late order"].customdata) == ["J-101"]
    assert list(traces["Maintenance"].text) == ["Risk: life ≤ 12 h"]
    hover = traces["Maintenance"].hovertext[0]
    assert "remaining life, 10 % low estimate 12 h" in hover and "model v2" in hover
    assert "rul_low" not in hover
    # Every machine has a row, grouped by line, with its status.
    assert list(gantt.layout.yaxis.ticktext) == [
        "lathe-03 · DOWN", "press-01", "press-02", "mill-04 · maint.", "mill-05",
        "oven-06 · offline",
    ]  # fmt: skip
    assert gantt.layout.uirevision == "gantt"
    assert "J-101" in text_of(late) and "60 min" in text_of(late)


def test_schedule_page_shows_a_failed_solve_and_keeps_the_plan_in_force(
    context: DashboardContext, database: Database, plant: Plant
) -> None:
    """A later solve that failed is on the schedule page with its reason; the older plan
    stays current (its Gantt still drawn). A plan degraded to dispatch says so too."""
    (current,) = database.execute("SELECT id FROM schedules WHERE is_current")[0]
    reason = "maintenance maint-M0 does not fit on M0"
    (failed,) = database.execute(
        "INSERT INTO schedules (requested_at, requested_by, state, solver_status, error,"
        " finished_at) VALUES (%s, 'planner', 'failed', 'infeasible', %s, %s) RETURNING id",
        (plant.now, reason, plant.now),
    )[0]
    status, _, gantt, *_ = schedule_view(context, plant.now)
    shown = text_of(status)
    assert "FAILED" in shown and reason in shown
    assert f"Latest solve #{failed} failed; plan #{current} stays in force" in shown
    assert {t.name for t in gantt.data} >= {"Production", "Maintenance"}
    database.execute("DELETE FROM schedules WHERE id = %s", (failed,))
    database.execute(
        "UPDATE schedules SET solver_status = 'feasible (dispatch)', summary = %s WHERE id = %s",
        ('{"degraded": true, "reason": "the dispatching rule\'s plan"}', current),
    )
    status, *_ = schedule_view(context, plant.now)
    shown = text_of(status)
    assert "DEGRADED" in shown and "the dispatching rule's plan" in shown


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
    _, info, *_ = schedule_view(context, plant.now)
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
    _, table, _ = alerts_view(context, FIXER, plant.now)
    assert "mia" in text_of(table) and "paul" in text_of(table)


def _props(component: object) -> dict[str, object]:
    to_json = getattr(component, "to_plotly_json", None)
    return dict(to_json()["props"]) if to_json else {}


def test_alert_buttons_are_disabled_for_viewers(context: DashboardContext, plant: Plant) -> None:
    _, table, _ = alerts_view(context, VIEWER, plant.now)
    buttons = [c for c in walk(table) if "data-alarm-action" in _props(c)]
    # Ack and Shelve for the two active alarms, Ack for the one cleared unacknowledged.
    assert len(buttons) == 5 and all(b.disabled for b in buttons)
    _, table, _ = alerts_view(context, FIXER, plant.now)
    buttons = [c for c in walk(table) if "data-alarm-action" in _props(c)]
    assert not any(b.disabled for b in buttons)
