"""Machine refresh: one request fetches trends, risk, features and events for the range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, State
from dash.exceptions import PreventUpdate

from dashboard import figures, queries
from dashboard.callbacks.guard import keep_last_on_outage
from dashboard.context import DashboardContext
from dashboard.downsample import choose_bucket, parse_range
from dashboard.layouts import machine as machine_layout
from dashboard.layouts.common import fmt_ts, stamp

# Readings stamped slightly ahead of the server clock still belong on the chart.
CLOCK_SLACK = timedelta(minutes=2)


@dataclass(frozen=True)
class MachineView:
    header: list[Any]
    trends: dict[str, Any]
    trends_title: str
    risk: go.Figure
    features: go.Figure
    score: str
    stamp: Any


def _bucket_label(bucket: timedelta) -> str:
    seconds = int(bucket.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def machine_view(
    context: DashboardContext,
    machine_name: str,
    range_label: str | None,
    sensor_ids: list[int] | None,
    now: datetime,
) -> MachineView | None:
    """Everything on the machine page for one range; None when the machine does not exist."""
    database = context.database
    machine = queries.machine_by_name(database, machine_name)
    if machine is None:
        return None
    label, span = parse_range(range_label)
    start, end = now - span, now + CLOCK_SLACK
    bucket = choose_bucket(span)
    trends = queries.sensor_trends(
        database,
        int(machine["id"]),
        [int(s) for s in sensor_ids or []],
        start,
        end,
        bucket,
        use_hourly_view=database.timescale,
    )
    events = queries.machine_events(database, int(machine["id"]), start, end)
    history = queries.risk_history(database, int(machine["id"]), start, end)
    latest = queries.latest_risk(database, int(machine["id"]))
    last = queries.last_reading_at(database, int(machine["id"]))
    top = figures.parse_top_features(latest.get("top_features") if latest else None)
    score = (
        f"Model {latest['model_version']}, scored {fmt_ts(latest['ts'])}"
        if latest
        else "No risk score yet."
    )
    return MachineView(
        header=machine_layout.render_header(machine, latest, last, context.config, now),
        trends=figures.trends_figure(trends, events, bucket),
        trends_title=f"Sensor trends · last {label} · {_bucket_label(bucket)} buckets"
        " (line: average, band: min–max)",
        risk=figures.risk_figure(history, events, context.config),
        features=figures.features_figure(top),
        score=score,
        stamp=stamp("machine", now),
    )


def register(app: Dash, context: DashboardContext) -> None:
    @app.callback(
        Output("machine-header", "children"),
        Output("machine-trends", "figure"),
        Output("machine-trends-title", "children"),
        Output("machine-risk", "figure"),
        Output("machine-features", "figure"),
        Output("machine-score", "children"),
        Output("machine-stamp", "children"),
        Input("tick", "n_intervals"),
        Input("machine-range", "value"),
        Input("machine-sensors", "value"),
        State("machine-name", "data"),
        prevent_initial_call=True,  # the page arrives with its first view (`router`)
    )
    @keep_last_on_outage
    def _refresh(
        _: int | None, range_label: str | None, sensor_ids: list[int] | None, name: str | None
    ) -> tuple[Any, ...]:
        view = machine_view(context, name or "", range_label, sensor_ids, context.clock.now())
        if view is None:
            raise PreventUpdate
        return (
            view.header,
            view.trends,
            view.trends_title,
            view.risk,
            view.features,
            view.score,
            view.stamp,
        )
