"""Schedule refresh and the reschedule request (planner role, checked here on the server)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output
from dash.exceptions import PreventUpdate

from dashboard import auth, figures, queries
from dashboard.callbacks.guard import keep_last_on_outage
from dashboard.context import DashboardContext
from dashboard.errors import AccessDenied
from dashboard.layouts import schedule as schedule_layout
from dashboard.layouts.common import stamp
from millwright.core.storage.errors import DatabaseUnavailable
from millwright.core.users import Role, User
from scheduler import request_schedule

log = logging.getLogger(__name__)


def schedule_view(context: DashboardContext, now: datetime) -> tuple[Any, go.Figure, Any, Any]:
    database = context.database
    current = queries.current_schedule(database)
    pending = queries.pending_request(database)
    if current is None:
        assignments = queries.schedule_assignments(database, -1)
        figure = figures.empty_figure("No plan yet: request a reschedule to create one")
    else:
        assignments = queries.schedule_assignments(database, int(current["id"]))
        figure = figures.gantt_figure(assignments, now)
    return (
        schedule_layout.render_info(current, pending, assignments),
        figure,
        schedule_layout.render_late_jobs(assignments),
        stamp("schedule", now),
    )


def request_reschedule(context: DashboardContext, user: User | None) -> str:
    """Queue a reschedule for the solver worker; `AccessDenied` unless the user is a planner."""
    user = auth.require_roles(user, Role.PLANNER, action="request a reschedule")
    record = request_schedule(context.database, requested_by=user.username)
    log.info("reschedule #%s requested by %s from the dashboard", record.id, user.username)
    return f"Reschedule #{record.id} queued ({record.state}) by {user.username}."


def register(app: Dash, context: DashboardContext) -> None:
    @app.callback(
        Output("schedule-info", "children"),
        Output("schedule-gantt", "figure"),
        Output("schedule-late", "children"),
        Output("schedule-stamp", "children"),
        Input("tick", "n_intervals"),
        Input("reschedule-message", "children"),
    )
    @keep_last_on_outage
    def _refresh(_: int | None, __: Any) -> tuple[Any, ...]:
        return schedule_view(context, datetime.now(UTC))

    @app.callback(
        Output("reschedule-message", "children"),
        Input("reschedule-button", "n_clicks"),
        prevent_initial_call=True,
    )
    def _reschedule(n_clicks: int | None) -> str:
        if not n_clicks:
            raise PreventUpdate
        try:
            return request_reschedule(context, auth.request_user())
        except AccessDenied as exc:
            log.warning("refused reschedule: %s", exc)
            return f"Refused: {exc}"
        except DatabaseUnavailable:
            return "The database is unavailable; the reschedule was not requested."
