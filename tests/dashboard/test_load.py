"""What keeps the machine page fast: the partial plotly.js bundle, charts that arrive with
their data, and few shapes on the trends. The load times themselves are measured in
`test_browser`; these pin the mechanisms so a change does not quietly undo them."""

from __future__ import annotations

from typing import Any

import dash
import numpy as np
import pandas as pd
from dash import dcc
from plotly.offline import get_plotlyjs_version

from dashboard import figures
from dashboard.app import ASSETS, PLOTLY_BUNDLE, PLOTLY_TRACE_TYPES, create_dashboard
from dashboard.callbacks.machine import machine_view
from dashboard.callbacks.schedule import schedule_view
from dashboard.context import DashboardContext
from dashboard.router import render_page
from millwright.core.storage.database import Database
from millwright.core.users import Role, User
from tests.dashboard.components import walk
from tests.dashboard.conftest import make_settings
from tests.dashboard.plant import Plant

PLOTLY_URL = "/_dash-component-suites/plotly/package_data/plotly.min.js"
VIEWER = User(11, "vera", frozenset({Role.VIEWER}))


def _open_app(database_url: str, database: Database) -> dash.Dash:
    return create_dashboard(make_settings(database_url, require_login="false"), database)


def test_the_bundle_matches_the_plotly_js_that_plotly_py_writes_for() -> None:
    head = (ASSETS / PLOTLY_BUNDLE).read_text(encoding="utf-8")[:200]
    assert f"plotly.js (basic - minified) v{get_plotlyjs_version()}" in head


def test_charts_load_the_partial_bundle_and_pages_without_charts_none(
    database_url: str, database: Database
) -> None:
    client = _open_app(database_url, database).server.test_client()
    response = client.get(PLOTLY_URL)
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.data == (ASSETS / PLOTLY_BUNDLE).read_bytes()
    etag = response.headers["ETag"]
    assert client.get(PLOTLY_URL, headers={"If-None-Match": etag}).status_code == 304
    index = client.get("/").get_data(as_text=True)
    assert PLOTLY_BUNDLE not in index and "plotly.min.js" not in index


def _trace_types(figure: Any) -> set[str]:
    data = figure["data"] if isinstance(figure, dict) else figure.to_plotly_json()["data"]
    return {trace.get("type", "scatter") for trace in data}


def test_every_chart_uses_only_trace_types_in_the_bundle(
    context: DashboardContext, plant: Plant
) -> None:
    view = machine_view(context, "press-01", "", [1, 2, 3], plant.now)
    assert view is not None
    _, _, gantt, _, _ = schedule_view(context, plant.now)
    used = set().union(*(_trace_types(f) for f in (view.trends, view.risk, view.features, gantt)))
    assert used and used <= PLOTLY_TRACE_TYPES


def test_a_machine_page_arrives_with_its_first_view(
    context: DashboardContext, plant: Plant
) -> None:
    page = render_page(context, "/machine/press-01", "?range=7d", VIEWER)
    # Dash sets a component's props at run time: its classes declare no `id`, `figure`, `config`.
    graphs: dict[str, Any] = {g.id: g for g in walk(page) if isinstance(g, dcc.Graph)}  # type: ignore[attr-defined]
    assert set(graphs) == {"machine-risk", "machine-features", "machine-trends"}
    assert len(graphs["machine-trends"].figure["data"]) == 6  # 3 sensors, drawn on arrival
    assert all(g.config["responsive"] is False for g in graphs.values())
    stamp = next(c for c in walk(page) if getattr(c, "id", None) == "machine-stamp")
    assert stamp.children is not None  # the page counts as refreshed from the start
    title = next(c for c in walk(page) if getattr(c, "id", None) == "machine-trends-title")
    assert "7d · 30 min buckets" in title.children


def test_event_lines_cross_each_column_once() -> None:
    times = pd.date_range("2026-01-01", periods=48, freq="30min", tz="UTC")
    trends = pd.concat(
        pd.DataFrame(
            {"sensor": f"s{i:02d}", "unit": "C", "bucket": times, "avg": np.arange(48.0)}
        ).assign(min=lambda f: f["avg"] - 1, max=lambda f: f["avg"] + 1, n=30)
        for i in range(20)
    )
    events = pd.DataFrame(
        {
            "ts": [times[10], times[20], times[30]],
            "kind": ["failure", "maintenance", "alert"],  # alerts only on the event strip
            "source": "test",
            "detail": "",
        }
    )
    figure = figures.trends_figure(trends, events, pd.Timedelta(minutes=30).to_pytimedelta())
    shapes = figure["layout"]["shapes"]
    assert len(shapes) == 2 * 2  # two marked events x two columns, not x twenty panels
    assert {s["xref"] for s in shapes} == {"x", "x2"}
    assert all(s["yref"] == "paper" for s in shapes)
