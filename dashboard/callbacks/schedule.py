"""Schedule refresh, the order a click on a bar opens, and the reschedule request (planner
role, checked here on the server)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import plotly.graph_objects as go
from dash import Dash, Input, Output, State
from dash.exceptions import PreventUpdate

from dashboard import auth, figures, gantt, queries
from dashboard.callbacks.guard import keep_last_on_outage
from dashboard.context import DashboardContext
from dashboard.errors import AccessDenied
from dashboard.layouts import schedule as schedule_layout
from dashboard.layouts.common import stamp
from dashboard.view import parse_view
from millwright.core.storage.errors import DatabaseUnavailable
from millwright.core.users import Role, User
from scheduler import request_schedule

log = logging.getLogger(__name__)


def zoom_from(relayout: dict[str, Any] | None, kept: dict[str, Any] | None) -> dict[str, Any]:
    """The x range a planner zoomed or panned to (``{}``: the whole plan), from a relayout."""
    kept = dict(kept or {})
    if not relayout:
        return kept
    if relayout.get("xaxis.autorange"):
        return {}
    if "xaxis.range[0]" in relayout and "xaxis.range[1]" in relayout:
        return {"x": [relayout["xaxis.range[0]"], relayout["xaxis.range[1]"]]}
    if isinstance(relayout.get("xaxis.range"), list):
        return {"x": list(relayout["xaxis.range"])}
    return kept


def schedule_view(
    context: DashboardContext,
    now: datetime,
    search: str | None = None,
    zoom: dict[str, Any] | None = None,
) -> tuple[Any, Any, go.Figure, Any, Any]:
    """(plan status, info, Gantt, late orders, stamp)."""
    database = context.database
    tz = context.clock.tz
    look = parse_view(search).theme
    current = queries.current_schedule(database)
    latest = queries.latest_finished(database)
    pending = queries.pending_request(database)
    machines = queries.gantt_machines(database)
    moves = gantt.Moves(frozenset(), None)
    if current is None:
        assignments = queries.schedule_assignments(database, -1)
        figure = figures.empty_figure("No plan yet: request a reschedule to create one", look=look)
    else:
        assignments = queries.schedule_assignments(database, int(current["id"]))
        previous_id = queries.previous_plan_id(database, int(current["id"]))
        previous = (
            queries.schedule_assignments(database, previous_id) if previous_id is not None else None
        )
        moves = gantt.moved_operations(assignments, previous, previous_id)
        if len(assignments):
            start = min(assignments["start_at"].min(), now)
            end = max(assignments["end_at"].max(), now)
        else:
            start = end = now
        downtime = queries.downtime_windows(database, start, end)
        figure = gantt.gantt_figure(
            assignments, machines, now, tz=tz, downtime=downtime, moves=moves, look=look
        )
        if zoom and zoom.get("x"):
            # The zoom survives every refresh and every new plan: Dash's graph replaces the
            # figure on each refresh, so the range the planner chose is sent back with it.
            figure.update_xaxes(range=zoom["x"], autorange=False)
    level, headline, reason = schedule_layout.plan_status(current, latest)
    return (
        schedule_layout.render_status(level, headline, reason),
        schedule_layout.render_info(
            current, pending, assignments, context.clock, moves.count, moves.previous_id
        ),
        figure,
        schedule_layout.render_late_jobs(assignments, context.clock),
        stamp("schedule", now),
    )


def order_view(context: DashboardContext, job: str) -> Any:
    """The order behind a clicked bar, in the current plan."""
    database = context.database
    current = queries.current_schedule(database)
    if current is None:
        raise PreventUpdate
    detail = queries.job_detail(database, int(current["id"]), job)
    assignments = queries.schedule_assignments(database, int(current["id"]))
    previous_id = queries.previous_plan_id(database, int(current["id"]))
    previous = queries.schedule_assignments(database, previous_id) if previous_id else None
    moves = gantt.moved_operations(assignments, previous, previous_id)
    ops = assignments[assignments["operation_id"].isin(list(moves.moved))]
    moved = {f"{r.job}/{r.seq}" for r in ops.itertuples(index=False)}
    return schedule_layout.render_order(detail, context.clock, moved)


def request_reschedule(context: DashboardContext, user: User | None) -> str:
    """Queue a reschedule for the solver worker; `AccessDenied` unless the user is a planner."""
    user = auth.require_roles(user, Role.PLANNER, action="request a reschedule")
    record = request_schedule(context.database, requested_by=user.username)
    log.info("reschedule #%s requested by %s from the dashboard", record.id, user.username)
    return f"Reschedule #{record.id} queued ({record.state}) by {user.username}."


def register(app: Dash, context: DashboardContext) -> None:
    @app.callback(
        Output("schedule-status", "children"),
        Output("schedule-info", "children"),
        Output("schedule-gantt", "figure"),
        Output("schedule-late", "children"),
        Output("schedule-stamp", "children"),
        Input("tick", "n_intervals"),
        Input("reschedule-message", "children"),
        Input("url", "search"),
        State("schedule-zoom", "data"),
    )
    @keep_last_on_outage
    def _refresh(_: int | None, __: Any, search: str | None, zoom: Any) -> tuple[Any, ...]:
        return schedule_view(context, context.clock.now(), search, zoom)

    @app.callback(
        Output("schedule-zoom", "data"),
        Input("schedule-gantt", "relayoutData"),
        State("schedule-zoom", "data"),
        prevent_initial_call=True,
    )
    def _zoom(relayout: dict[str, Any] | None, kept: dict[str, Any] | None) -> dict[str, Any]:
        return zoom_from(relayout, kept)

    @app.callback(
        Output("schedule-order", "children"),
        Input("schedule-gantt", "clickData"),
        prevent_initial_call=True,
    )
    @keep_last_on_outage
    def _order(click: dict[str, Any] | None) -> Any:
        points = (click or {}).get("points") or []
        job = points[0].get("customdata") if points else None
        if not job:
            raise PreventUpdate
        return order_view(context, str(job))

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
