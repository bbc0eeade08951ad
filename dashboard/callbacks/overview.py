"""Overview refresh: the machine table, rendered as tiles grouped by line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dash import Dash, Input, Output

from dashboard import queries
from dashboard.callbacks.guard import keep_last_on_outage
from dashboard.context import DashboardContext
from dashboard.layouts import overview
from dashboard.layouts.common import stamp


def overview_view(context: DashboardContext, now: datetime) -> tuple[list[Any], list[Any], Any]:
    frame = queries.plant_overview(context.database)
    return (
        overview.render_summary(frame),
        overview.render_lines(frame, context.config, now, context.base_path),
        stamp("overview", now),
    )


def register(app: Dash, context: DashboardContext) -> None:
    @app.callback(
        Output("overview-summary", "children"),
        Output("overview-lines", "children"),
        Output("overview-stamp", "children"),
        Input("tick", "n_intervals"),
    )
    @keep_last_on_outage
    def _refresh(_: int | None) -> tuple[list[Any], list[Any], Any]:
        return overview_view(context, context.clock.now())
