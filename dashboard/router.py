"""Which page a URL shows: a single callback from ``dcc.Location`` to the page container.

URLs: ``/`` overview, ``/machine/<name>?range=7d``, ``/schedule``, ``/alerts`` (all under the
configured base path). A plain router rather than Dash Pages because Pages keeps a
process-wide registry, and several dashboards may share a process (tests, `millwright serve`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

from dash import Dash, Input, Output, dcc, html

from dashboard import auth, queries
from dashboard.callbacks.machine import machine_view
from dashboard.context import DashboardContext
from dashboard.downsample import parse_range
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
        return alerts.layout()
    if parts == ["outcomes"]:
        return outcomes_page.layout()
    if len(parts) == 2 and parts[0] == "machine":
        found = queries.machine_by_name(context.database, parts[1])
        if found is None:
            return machine.not_found(parts[1], context.base_path)
        query = parse_qs((search or "").lstrip("?"))
        label, _ = parse_range((query.get("range") or [""])[0])
        sensors = queries.machine_sensors(context.database, int(found["id"]))
        # The first view comes with the page, so its charts mount drawn (`machine.layout`).
        view = machine_view(
            context, parts[1], label, [int(s) for s in sensors["id"]], datetime.now(UTC)
        )
        return machine.layout(found, sensors, label, view)
    return html.Div(
        className="not-found",
        children=[
            html.H1("Page not found", className="page-title"),
            dcc.Link("Back to the overview", href=context.base_path, className="link"),
        ],
    )


def register(app: Dash, context: DashboardContext) -> None:
    @app.callback(
        Output("page", "children"),
        Input("url", "pathname"),
        Input("url", "search"),
    )
    def _route(pathname: str | None, search: str | None) -> Any:
        return render_page(context, pathname, search, auth.request_user())
