"""Alerts refresh and acknowledgement (maintenance or planner role, checked on the server)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx
from dash.exceptions import PreventUpdate

from alerts import AlertNotFound, AlertsConfig, acknowledge
from dashboard import auth, queries
from dashboard.callbacks.guard import keep_last_on_outage
from dashboard.context import DashboardContext
from dashboard.errors import AccessDenied
from dashboard.layouts import alerts as alerts_layout
from dashboard.layouts.common import stamp
from millwright.core.storage.errors import DatabaseUnavailable
from millwright.core.users import Role, User

log = logging.getLogger(__name__)

ACK_ROLES = (Role.MAINTENANCE, Role.PLANNER)


def alerts_view(context: DashboardContext, user: User | None, now: datetime) -> tuple[Any, Any]:
    frame = queries.open_alerts(context.database)
    can_ack = user is not None and user.has_any(*ACK_ROLES)
    return alerts_layout.render_table(frame, can_ack, context.base_path), stamp("alerts", now)


def acknowledge_alert(context: DashboardContext, user: User | None, alert_id: int) -> str:
    """Record that ``user`` is on the alert (webhooks told, per the alerts settings)."""
    user = auth.require_roles(user, *ACK_ROLES, action="acknowledge alerts")
    alert = acknowledge(
        context.database,
        alert_id,
        user.username,
        config=context.settings.section("alerts", AlertsConfig),
        public_url=context.settings.public_url,
    )
    return f"Alert #{alert.id} on {alert.machine} acknowledged by {alert.acked_by}."


def register(app: Dash, context: DashboardContext) -> None:
    @app.callback(
        Output("alerts-table", "children"),
        Output("alerts-stamp", "children"),
        Input("tick", "n_intervals"),
        Input("alerts-acked", "data"),
    )
    @keep_last_on_outage
    def _refresh(_: int | None, __: int | None) -> tuple[Any, Any]:
        return alerts_view(context, auth.request_user(), datetime.now(UTC))

    @app.callback(
        Output("alerts-message", "children"),
        Output("alerts-acked", "data"),
        Input({"type": "ack-alert", "alert": ALL}, "n_clicks"),
        State("alerts-acked", "data"),
        prevent_initial_call=True,
    )
    def _acknowledge(clicks: list[int | None], acked: int | None) -> tuple[str, int]:
        # Re-rendered tables bring fresh buttons (n_clicks 0) that also fire this callback:
        # act only on a real click of one button.
        trigger = ctx.triggered_id
        value = ctx.triggered[0].get("value") if ctx.triggered else None
        if not isinstance(trigger, dict) or not value:
            raise PreventUpdate
        try:
            message = acknowledge_alert(context, auth.request_user(), int(trigger["alert"]))
        except AccessDenied as exc:
            log.warning("refused acknowledgement: %s", exc)
            return f"Refused: {exc}", acked or 0
        except AlertNotFound:
            return f"Alert #{trigger['alert']} no longer exists.", (acked or 0) + 1
        except DatabaseUnavailable:
            return "The database is unavailable; nothing was acknowledged.", acked or 0
        return message, (acked or 0) + 1
