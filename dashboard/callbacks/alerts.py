"""Alarms page refresh and the operator's verbs (maintenance or planner, checked here)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from dash import Dash, Input, Output, State, no_update
from dash.exceptions import PreventUpdate

import alerts
from alerts import rules_for
from dashboard import auth, queries
from dashboard.callbacks.guard import keep_last_on_outage
from dashboard.context import DashboardContext
from dashboard.errors import AccessDenied
from dashboard.layouts import alerts as alerts_layout
from dashboard.layouts.common import stamp
from dashboard.view import parse_view
from millwright.core.storage.errors import DatabaseUnavailable
from millwright.core.users import Role, User

log = logging.getLogger(__name__)

ACK_ROLES = (Role.MAINTENANCE, Role.PLANNER)


def alerts_config(context: DashboardContext) -> alerts.AlertsConfig:
    return context.settings.section("alerts", alerts.AlertsConfig)


def alerts_view(
    context: DashboardContext,
    user: User | None,
    now: datetime,
    search: str | None = None,
    machine: str | None = None,
    severity: str | None = None,
    states: list[str] | None = None,
) -> tuple[Any, Any, Any]:
    """(KPIs, journal, stamp) for the view's time range and the filters."""
    window = parse_view(search).time_range(now, context.clock.tz, slack=timedelta(0))
    end = min(window.end, now) if window.live else window.end
    if end <= window.start:
        end = window.start + timedelta(minutes=10)
    where = alerts.AlarmFilter(
        machine=machine or None,
        severity=severity or None,
        states=tuple(alerts.AlarmState(s) for s in states or ()),
        since=window.start,
        until=window.end,
    )
    database = context.database
    page = alerts.list_alarms(database, where, now, limit=alerts_layout.PAGE_SIZE)
    kpis = alerts.kpis(database, window.start, end, now, operators=alerts_config(context).operators)
    machines = queries.machine_classes(database)
    rules = {}
    for alert in page.alarms:
        for rule in rules_for(alerts_config(context).rules, alert.machine,
                              machines.get(alert.machine)):  # fmt: skip
            rules[(alert.machine, rule.name)] = rule
    horizons = queries.latest_horizons(database)
    can_act = user is not None and user.has_any(*ACK_ROLES)
    return (
        alerts_layout.render_kpis(kpis, context.clock),
        alerts_layout.render_journal(
            page, now, context.clock, rules, horizons, can_act, context.base_path
        ),
        stamp("alerts", now),
    )


def acknowledge_alert(
    context: DashboardContext, user: User | None, alert_id: int, comment: str | None = None
) -> str:
    """Record that ``user`` is on the alert, with their comment (webhooks told)."""
    user = auth.require_roles(user, *ACK_ROLES, action="acknowledge alerts")
    alert = alerts.acknowledge(
        context.database,
        alert_id,
        user.username,
        config=alerts_config(context),
        public_url=context.settings.public_url,
        now=context.clock.now(),
        comment=comment,
    )
    said = f": “{alert.ack_comment}”" if alert.ack_comment else ""
    return f"Alert #{alert.id} on {alert.machine} acknowledged by {alert.acked_by}{said}."


def shelve_alert(
    context: DashboardContext, user: User | None, alert_id: int, minutes: int, reason: str | None
) -> str:
    user = auth.require_roles(user, *ACK_ROLES, action="shelve alerts")
    if not (reason or "").strip():
        return "Shelving needs a reason: type it in the comment box first."
    now = context.clock.now()
    alert = alerts.shelve(
        context.database, alert_id, user.username, timedelta(minutes=minutes), reason or "",
        config=alerts_config(context), public_url=context.settings.public_url, now=now,
    )  # fmt: skip
    until = context.clock.label(alert.shelved_until) if alert.shelved_until else "?"
    return f"Alert #{alert.id} on {alert.machine} shelved by {user.username} until {until}."


def unshelve_alert(context: DashboardContext, user: User | None, alert_id: int) -> str:
    user = auth.require_roles(user, *ACK_ROLES, action="unshelve alerts")
    alert = alerts.unshelve(
        context.database, alert_id, user.username, config=alerts_config(context),
        public_url=context.settings.public_url, now=context.clock.now(),
    )  # fmt: skip
    return f"Alert #{alert.id} on {alert.machine} unshelved by {user.username}."


def register(app: Dash, context: DashboardContext) -> None:
    @app.callback(
        Output("alerts-kpis", "children"),
        Output("alerts-table", "children"),
        Output("alerts-stamp", "children"),
        Input("tick", "n_intervals"),
        Input("alerts-acked", "data"),
        Input("url", "search"),
        Input("alerts-filter-machine", "value"),
        Input("alerts-filter-severity", "value"),
        Input("alerts-filter-state", "value"),
    )
    @keep_last_on_outage
    def _refresh(
        _: int | None,
        __: int | None,
        search: str | None,
        machine: str | None,
        severity: str | None,
        states: list[str] | None,
    ) -> tuple[Any, Any, Any]:
        return alerts_view(
            context, auth.request_user(), context.clock.now(), search, machine, severity, states
        )

    @app.callback(
        Output("alerts-message", "children"),
        Output("alerts-acked", "data"),
        Output("alerts-comment", "value"),
        Input("alerts-click", "data"),
        State("alerts-comment", "value"),
        State("alerts-shelve-for", "value"),
        State("alerts-acked", "data"),
        prevent_initial_call=True,
    )
    def _act(
        click: dict[str, Any] | None, comment: str | None, minutes: int | None, acked: int | None
    ) -> tuple[str, int, Any]:
        # The click arrives in a store, not as the buttons' n_clicks: a refresh that replaced
        # the buttons would fire a second call of this callback, and Dash then drops the
        # first call's answer (the user's confirmation; plotly/dash#1861).
        if not isinstance(click, dict) or click.get("action") not in ("ack", "shelve", "unshelve"):
            raise PreventUpdate
        try:
            alert_id, action = int(click["alert"]), str(click["action"])
        except (KeyError, TypeError, ValueError):
            raise PreventUpdate from None
        user = auth.request_user()
        try:
            if action == "ack":
                message = acknowledge_alert(context, user, alert_id, comment)
            elif action == "shelve":
                message = shelve_alert(context, user, alert_id, int(minutes or 60), comment)
            else:
                message = unshelve_alert(context, user, alert_id)
        except AccessDenied as exc:
            log.warning("refused %s: %s", action, exc)
            return f"Refused: {exc}", acked or 0, no_update
        except alerts.AlertNotFound:
            return f"Alert #{alert_id} no longer exists.", (acked or 0) + 1, no_update
        except ValueError as exc:
            return str(exc), acked or 0, no_update
        except DatabaseUnavailable:
            return "The database is unavailable; nothing was changed.", acked or 0, no_update
        if message.startswith("Shelving needs a reason"):
            return message, acked or 0, no_update
        return message, (acked or 0) + 1, ""  # the comment was used: clear the box
