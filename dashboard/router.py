"""Which page a URL shows: a single callback from ``dcc.Location`` to the page container.

URLs: ``/`` overview, ``/machine/<name>``, ``/schedule``, ``/alerts`` (all under the
configured base path), each with the view's query (`dashboard.view`: range, refresh,
kiosk...). A plain router rather than Dash Pages because Pages keeps a process-wide
registry, and several dashboards may share a process (tests, `millwright serve`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from dash import Dash, Input, Output, State, dcc, html

from dashboard import auth, queries
from dashboard.callbacks.machine import machine_view
from dashboard.context import DashboardContext
from dashboard.layouts import alerts, machine, overview, schedule
from dashboard.layouts import outcomes as outcomes_page
from millwright.core.users import Role, User


def _relative(pathname: str | None, base_path: str) -> list[str]:
    path = pathname or base_path
    if path.startswith(base_path):
        path = path[len(base_path) :]
    return [unquote(part) for part in path.strip("/").split("/") if part]


def render_page(
    context: DashboardContext, pathname: str | None, search: str | None, user: User | None
) -> Any:
    parts = _relative(pathname, context.base_path)
    if not parts:
        return overview.layout()
    if parts == ["schedule"]:
        return schedule.layout(can_reschedule=user is not None and user.has_any(Role.PLANNER))
    if parts == ["alerts"]:
        return alerts.layout(queries.machine_names(context.database))
    if parts == ["outcomes"]:
        return outcomes_page.layout()
    if len(parts) == 2 and parts[0] == "machine":
        found = queries.machine_by_name(context.database, parts[1])
        if found is None:
            return machine.not_found(parts[1], context.base_path)
        sensors = queries.machine_sensors(context.database, int(found["id"]))
        # The first view comes with the page, so its charts mount drawn (`machine.layout`).
        view = machine_view(context, parts[1], search, None, context.clock.now())
        return machine.layout(found, sensors, view)
    return html.Div(
        className="not-found",
        children=[
            html.H1("Page not found", className="page-title"),
            dcc.Link("Back to the overview", href=context.base_path, className="link"),
        ],
    )


def register(app: Dash, context: DashboardContext) -> None:
    # The page is built when the path changes; the query (range, refresh, theme...) is read
    # by each page's own refresh callback, so changing it does not rebuild the page.
    @app.callback(
        Output("page", "children"),
        Input("url", "pathname"),
        State("url", "search"),
    )
    def _route(pathname: str | None, search: str | None) -> Any:
        return render_page(context, pathname, search, auth.request_user())
