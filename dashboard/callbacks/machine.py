"""Machine refresh: one request fetches trends, risk, features and events for the range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, State
from dash.exceptions import PreventUpdate

from alerts import AlertsConfig, rules_for
from dashboard import figures, queries
from dashboard.callbacks.guard import keep_last_on_outage
from dashboard.context import DashboardContext
from dashboard.downsample import choose_bucket
from dashboard.layouts import machine as machine_layout
from dashboard.layouts.common import fmt_ts, stamp
from dashboard.view import parse_view

# Readings stamped slightly ahead of the plant clock still belong on the chart.
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
    shown_sensors: list[int]
    hidden_note: str


def _bucket_label(bucket: timedelta) -> str:
    seconds = int(bucket.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"


def thresholds_for(context: DashboardContext, machine: dict[str, Any]) -> figures.Thresholds:
    """The alert rule's thresholds for this machine (the first rule that sets each)."""
    found: dict[str, float] = {}
    configured = context.settings.section("alerts", AlertsConfig).rules
    for rule in rules_for(configured, str(machine["name"]), machine.get("machine_class")):
        for key in ("warning_p_fail", "critical_p_fail", "warning_rul_low", "critical_rul_low"):
            value = getattr(rule, key)
            if value is not None and key not in found:
                found[key] = value
    return figures.Thresholds(**found)


def machine_view(
    context: DashboardContext,
    machine_name: str,
    search: str | None,
    sensor_ids: list[int] | None,
    now: datetime,
) -> MachineView | None:
    """Everything on the machine page for the view's range; None for an unknown machine.

    ``sensor_ids`` None: every sensor that is not constant in the range (the page's first
    view); a list: exactly those."""
    database = context.database
    machine = queries.machine_by_name(database, machine_name)
    if machine is None:
        return None
    view = parse_view(search)
    tz = context.clock.tz
    window = view.time_range(now, tz, slack=CLOCK_SLACK)
    start, end = window.start, window.end
    bucket = choose_bucket(window.span)
    machine_id = int(machine["id"])
    sensors = queries.machine_sensors(database, machine_id)
    wanted = [int(s) for s in sensors["id"]] if sensor_ids is None else list(sensor_ids)
    trends = queries.sensor_trends(
        database, machine_id, wanted, start, end, bucket, use_hourly_view=database.timescale
    )
    hidden_note = ""
    if sensor_ids is None:
        constant = figures.constant_sensors(trends)
        if constant:
            trends = trends[~trends["sensor"].isin(constant)]
            names = dict(zip(sensors["name"], sensors["id"], strict=True))
            wanted = [i for i in wanted if i not in {int(names[c]) for c in constant}]
            hidden_note = (
                f"{len(constant)} constant sensor{'s' if len(constant) > 1 else ''} hidden"
                f" ({', '.join(constant)}); pick them above to show them."
            )
    events = queries.machine_events(database, machine_id, start, end)
    history = queries.risk_history(database, machine_id, start, end)
    latest = queries.latest_risk(database, machine_id)
    last = queries.last_reading_at(database, machine_id)
    cause = None
    if machine.get("status") in ("down", "maintenance", "offline") and machine.get("status_since"):
        cause = queries.status_cause(database, machine_id, machine["status_since"])
    units = {str(n): str(u) for n, u in zip(sensors["name"], sensors["unit"], strict=True)}
    top = figures.with_baselines(
        figures.parse_top_features(latest.get("top_features") if latest else None),
        queries.sensor_baselines(database, machine_id),
        units,
    )
    horizon = latest.get("horizon_hours") if latest else None
    score = (
        f"Model {latest['model_version']}, scored {fmt_ts(latest['ts'], context.clock)}"
        if latest
        else "No risk score yet."
    )
    look = view.theme
    span = (start, end)
    range_words = (
        f"last {window.label}" if window.live
        else f"{fmt_ts(start, context.clock)} – {fmt_ts(end, context.clock)}"
    )  # fmt: skip
    return MachineView(
        header=machine_layout.render_header(
            machine,
            latest,
            last,
            context.config,
            now,
            context.clock,
            cause,
            thresholds_for(context, machine),
        ),
        trends=figures.trends_figure(trends, events, bucket, tz=tz, look=look, window=span),
        trends_title=f"Sensor trends · {range_words} · {_bucket_label(bucket)} buckets"
        " (line: average, band: min–max)",
        risk=figures.risk_figure(
            history,
            events,
            thresholds_for(context, machine),
            horizon_hours=horizon,
            tz=tz,
            look=look,
            window=span,
        ),
        features=figures.features_figure(top, look=look),
        score=score,
        stamp=stamp("machine", now),
        shown_sensors=wanted,
        hidden_note=hidden_note,
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
        Input("url", "search"),
        Input("machine-sensors", "value"),
        State("machine-name", "data"),
        prevent_initial_call=True,  # the page arrives with its first view (`router`)
    )
    @keep_last_on_outage
    def _refresh(
        _: int | None, search: str | None, sensor_ids: list[int] | None, name: str | None
    ) -> tuple[Any, ...]:
        view = machine_view(context, name or "", search, sensor_ids or [], context.clock.now())
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
