"""Outcomes page refresh: the period chosen ends at the plant's newest event (or now)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output

from dashboard.callbacks.guard import keep_last_on_outage
from dashboard.context import DashboardContext
from dashboard.figures import empty_figure
from dashboard.layouts import outcomes as layout
from outcomes import OutcomesConfig, OutcomesResult, compute_outcomes


def period_end(context: DashboardContext, now: datetime) -> datetime:
    """The later of now and the newest event: an accelerated plant (the demo) runs ahead."""
    rows = context.database.execute("SELECT max(coalesce(ends_at, ts)) FROM events")
    newest = rows[0][0] if rows and rows[0][0] else None
    return max(now, newest) if newest is not None else now


def trend_figure(result: OutcomesResult) -> go.Figure:
    if not result.trend:
        return empty_figure("No history in the period")
    x = [f.start for f in result.trend]
    fig = go.Figure()
    fig.add_bar(
        x=x, y=[f.unplanned_downtime_hours for f in result.trend], name="unplanned downtime (h)"
    )
    fig.add_bar(
        x=x, y=[f.planned_downtime_hours for f in result.trend], name="planned downtime (h)"
    )
    fig.add_scatter(
        x=x, y=[100 * f.availability for f in result.trend], name="availability (%)", yaxis="y2",
        mode="lines+markers",
    )  # fmt: skip
    fig.update_layout(
        barmode="stack",
        height=300,
        margin={"l": 40, "r": 40, "t": 30, "b": 30},
        title=f"Downtime and availability per {result.bucket}",
        yaxis={"title": "hours"},
        yaxis2={"title": "%", "overlaying": "y", "side": "right", "range": [0, 100]},
        legend={"orientation": "h"},
    )
    return fig


def outcomes_view(context: DashboardContext, days: int, now: datetime) -> tuple[Any, ...]:
    config = getattr(context.settings, "outcomes", None) or OutcomesConfig()
    end = period_end(context, now)
    result = compute_outcomes(context.database, config, end - timedelta(days=days), end)
    [plant] = result.figures
    return (
        layout.render_figures(plant),
        trend_figure(result),
        layout.render_counterfactual(result.counterfactual),
        layout.render_failures(plant),
    )


def register(app: Dash, context: DashboardContext) -> None:
    @app.callback(
        Output("outcomes-figures", "children"),
        Output("outcomes-trend", "figure"),
        Output("outcomes-counterfactual", "children"),
        Output("outcomes-failures", "children"),
        Input("outcomes-range", "value"),
    )
    @keep_last_on_outage
    def _refresh(days: int | None) -> tuple[Any, ...]:
        return outcomes_view(context, int(days or 30), datetime.now(UTC))
