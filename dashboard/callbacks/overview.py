"""Overview refresh: the machine table, rendered as tiles, sorted and filtered per the URL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import Dash, Input, Output

from dashboard import queries
from dashboard.callbacks.guard import keep_last_on_outage
from dashboard.context import DashboardContext
from dashboard.layouts import overview
from dashboard.layouts.common import stamp
from dashboard.view import parse_view


def overview_view(
    context: DashboardContext, now: datetime, search: str | None = None
) -> tuple[list[Any], list[Any], list[Any], Any]:
    frame = queries.plant_overview(context.database)
    view = parse_view(search)
    return (
        overview.render_controls(frame, view, context.base_path),
        overview.render_summary(frame),
        overview.render_lines(frame, context.config, now, context.base_path, view),
        stamp("overview", now),
    )


def register(app: Dash, context: DashboardContext) -> None:
    @app.callback(
        Output("overview-controls", "children"),
        Output("overview-summary", "children"),
        Output("overview-lines", "children"),
        Output("overview-stamp", "children"),
        Input("tick", "n_intervals"),
        Input("url", "search"),
    )
    @keep_last_on_outage
    def _refresh(_: int | None, search: str | None) -> tuple[Any, ...]:
        return overview_view(context, context.clock.now(), search)
