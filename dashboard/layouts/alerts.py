"""Alarms page: KPIs of the alarm system, the journal of every alarm, and the operator's verbs.

The journal lists open and closed alarms with their ISA-18.2 state, why they fired, how
long they lasted, who acknowledged or shelved them and why, and every state change. The
verbs (acknowledge with a comment, shelve for a while with a reason, unshelve) are enabled
for the maintenance and planner roles; the callback checks again on the server.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dash import dcc, html

from alerts import STATE_WORDS, AlarmKpis, AlarmPage, AlarmState, Alert, JournalEntry, Rule
from dashboard.layouts.common import fmt_ts, machine_href, when
from dashboard.words import (
    RUL_LOW_LABEL,
    feature_label,
    fmt_duration,
    fmt_hours_words,
    risk_label,
)
from millwright.core.clock import PlantClock

SHELVE_CHOICES = ((15, "15 min"), (60, "1 h"), (240, "4 h"), (480, "8 h"), (1440, "24 h"))
ACTION_WORDS = {
    "opened": "opened",
    "escalated": "escalated to critical",
    "resolved": "cleared",
    "acknowledged": "acknowledged",
    "shelved": "shelved",
    "unshelved": "unshelved",
    "suppressed": "suppressed by design",
    "out_of_service": "out of service",
}
PAGE_SIZE = 50


def layout(machines: list[str] | None = None) -> html.Div:
    states = [{"label": STATE_WORDS[s], "value": s.value} for s in AlarmState]
    return html.Div(
        className="alerts",
        children=[
            dcc.Store(id="alerts-acked", data=0),
            # what the user last clicked in the journal (assets/live.js writes it): the action
            # callback listens here, not to the buttons, which every refresh replaces
            dcc.Store(id="alerts-click", data=None),
            html.Div(
                className="page-head",
                children=[
                    html.H1("Alarms", className="page-title"),
                    html.Span(id="alerts-message", className="message", role="status"),
                ],
            ),
            html.Section(
                className="panel",
                children=[
                    html.H2("Alarm system health", className="panel-title"),
                    html.Div(id="alerts-kpis"),
                ],
            ),
            html.Div(
                className="controls",
                children=[
                    dcc.Dropdown(
                        id="alerts-filter-machine",
                        placeholder="All machines",
                        options=machines or [],
                        className="filter",
                    ),
                    dcc.Dropdown(
                        id="alerts-filter-severity",
                        placeholder="All severities",
                        options=[
                            {"label": "Critical", "value": "critical"},
                            {"label": "Warning", "value": "warning"},
                        ],
                        className="filter",
                    ),
                    dcc.Dropdown(
                        id="alerts-filter-state",
                        placeholder="All states",
                        multi=True,
                        options=states,
                        className="filter filter-wide",
                    ),
                ],
            ),
            html.Div(
                className="controls action-bar",
                children=[
                    dcc.Input(
                        id="alerts-comment",
                        type="text",
                        maxLength=500,
                        placeholder="Comment for Acknowledge, reason for Shelve",
                        className="control-input comment-input",
                    ),
                    html.Label("Shelve for", htmlFor="alerts-shelve-for", className="muted"),
                    dcc.Dropdown(
                        id="alerts-shelve-for",
                        options=[{"label": t, "value": m} for m, t in SHELVE_CHOICES],
                        value=60,
                        clearable=False,
                        searchable=False,
                        className="control-dropdown",
                    ),
                ],
            ),
            html.Section(className="panel", children=[html.Div(id="alerts-table")]),
            html.Div(id="alerts-stamp"),
        ],
    )


def _item(value: str, label: str, cls: str = "", **props: Any) -> html.Div:
    return html.Div(
        className=f"summary-item {cls}",
        children=[
            html.Span(value, className="summary-value", **props),
            html.Span(label, className="summary-label"),
        ],
    )


def render_kpis(kpis: AlarmKpis, clock: PlantClock) -> list[Any]:
    """The ISA-18.2 figures of the window, each against its target, and the bad actors."""
    rate_cls = "sev-critical" if kpis.alarms_per_10min > 10 else (
        "sev-warning" if kpis.alarms_per_10min > 1 else "sev-ok")  # fmt: skip
    flood_cls = "sev-critical" if kpis.flood_share > 0.01 else "sev-ok"
    window = f"{fmt_ts(kpis.start, clock)} – {fmt_ts(kpis.end, clock)}"
    items = html.Div(
        className="summary",
        children=[
            _item(
                f"{kpis.alarms_per_10min:.2f}",
                "alarms / 10 min / operator (target ≤ 1)",
                rate_cls,
                id="kpi-rate",
            ),
            _item(
                f"{kpis.flood_share:.0%}",
                "time in flood (> 10 in 10 min; target < 1 %)",
                flood_cls,
                id="kpi-flood",
            ),
            _item(str(kpis.peak_10min), "most in 10 min", id="kpi-peak"),
            _item(
                str(kpis.stale),
                "stale (open > 24 h)",
                "sev-warning" if kpis.stale else "",
                id="kpi-stale",
            ),
            _item(str(kpis.activations), "alarms in range", id="kpi-count"),
        ],
    )
    rows = [
        html.Tr(
            [html.Td(a.machine), html.Td(a.rule), html.Td(str(a.count)), html.Td(f"{a.share:.0%}")]
        )
        for a in kpis.bad_actors
    ]
    actors: Any = (
        html.Table(
            className="table table-compact",
            id="kpi-bad-actors",
            children=[
                html.Thead(html.Tr([html.Th(h) for h in ("Bad actor", "Rule", "Alarms", "Share")])),
                html.Tbody(rows),
            ],
        )
        if rows
        else html.P("No alarms in this range.", className="muted")
    )
    return [
        html.Div(f"{window} · {kpis.operators} operator(s)", className="muted"),
        items,
        actors,
    ]


def explain(alert: Alert, rule: Rule | None, horizon_hours: Any) -> str:
    """Why the alarm fired, in words and with the threshold it crossed."""
    parts = []
    p, rul = alert.p_fail, alert.rul_low
    if rule is not None:
        for level, threshold in (("critical", rule.critical_p_fail),
                                 ("warning", rule.warning_p_fail)):  # fmt: skip
            if p is not None and threshold is not None and p >= threshold:
                parts.append(f"{risk_label(horizon_hours)} {p:.0%} ≥ {threshold:.0%} ({level})")
                break
        for level, threshold in (("critical", rule.critical_rul_low),
                                 ("warning", rule.warning_rul_low)):  # fmt: skip
            if rul is not None and threshold is not None and rul <= threshold:
                parts.append(
                    f"{RUL_LOW_LABEL} {fmt_hours_words(rul)} ≤ {fmt_hours_words(threshold)}"
                    f" ({level})"
                )
                break
    if not parts:
        if p is not None:
            parts.append(f"{risk_label(horizon_hours)} {p:.0%}")
        if rul is not None:
            parts.append(f"{RUL_LOW_LABEL} {fmt_hours_words(rul)}")
    drivers = [str(f.get("feature")) for f in alert.details.get("top_features", [])[:2]]
    text = "; ".join(parts) or alert.rule
    if drivers:
        text += " · drivers: " + ", ".join(feature_label(d) for d in drivers)
    return text


def _history(entries: list[JournalEntry], clock: PlantClock) -> Any:
    if not entries:
        return html.Span("—", className="muted")
    items = []
    for e in entries:
        who = f" by {e.actor}" if e.actor else ""
        why = f": {e.comment}" if e.comment else ""
        items.append(
            html.Li([when(e.at, clock), f" {ACTION_WORDS.get(e.action, e.action)}{who}{why}"])
        )
    return html.Details(
        [html.Summary(f"{len(entries)} changes"), html.Ul(items, className="history")],
        className="history-box",
    )


def _who(alert: Alert, state: AlarmState, clock: PlantClock) -> list[Any]:
    out: list[Any] = []
    if alert.acked_by:
        comment = f" “{alert.ack_comment}”" if alert.ack_comment else ""
        out.append(html.Div([f"ack {alert.acked_by} ", when(alert.acked_at, clock), comment],
                            className="who-ack"))  # fmt: skip
    if state is AlarmState.SHELVED and alert.shelved_until is not None:
        out.append(html.Div(
            [f"shelved by {alert.shelved_by} until ", when(alert.shelved_until, clock),
             f": {alert.shelve_reason}"],
            className="who-shelf",
        ))  # fmt: skip
    return out or ["—"]


def _actions(alert: Alert, state: AlarmState, can_act: bool) -> list[Any]:
    title = "" if can_act else "Needs the maintenance or planner role"
    buttons = []

    def button(label: str, action: str) -> html.Button:
        # assets/live.js reads these attributes on a click (see the alerts-click store)
        data: dict[str, Any] = {"data-alarm-action": action, "data-alert": str(alert.id)}
        return html.Button(
            label, className="btn btn-small", disabled=not can_act, title=title, **data
        )

    if not alert.acknowledged:
        buttons.append(button("Acknowledge", "ack"))
    if state is AlarmState.SHELVED:
        buttons.append(button("Unshelve", "unshelve"))
    elif alert.active and state not in (AlarmState.SUPPRESSED, AlarmState.OUT_OF_SERVICE):
        buttons.append(button("Shelve", "shelve"))
    return buttons


def render_journal(
    page: AlarmPage,
    now: datetime,
    clock: PlantClock,
    rules: dict[tuple[str, str], Rule],
    horizons: dict[str, Any],
    can_act: bool,
    base_path: str,
) -> Any:
    if not page.alarms:
        return html.P("No alarms match. All clear.", className="muted", id="alerts-empty")
    header = html.Tr([html.Th(h) for h in ("Severity", "Machine", "Why", "State", "Opened",
                                           "Duration", "Cleared", "Who and why", "History",
                                           "")])  # fmt: skip
    rows = []
    for alert in page.alarms:
        state = alert.lifecycle(now)
        end = alert.resolved_at or now
        rows.append(
            html.Tr(
                className=f"row-{alert.severity.value} state-{state.value}"
                + (" row-acked" if alert.acknowledged else ""),
                **{"data-alert": str(alert.id)},  # type: ignore[arg-type]
                children=[
                    html.Td(
                        html.Span(
                            alert.severity.value.upper(),
                            className=f"badge sev-{alert.severity.value}",
                        )
                    ),
                    html.Td(
                        dcc.Link(
                            alert.machine,
                            href=machine_href(base_path, alert.machine),
                            className="link",
                        )
                    ),
                    html.Td(
                        explain(
                            alert,
                            rules.get((alert.machine, alert.rule)),
                            horizons.get(alert.machine),
                        ),
                        className="why",
                    ),
                    html.Td(STATE_WORDS[state], className=f"state state-{state.value}"),
                    html.Td(when(alert.opened_at, clock)),
                    html.Td(fmt_duration(end - alert.opened_at)),
                    html.Td(when(alert.resolved_at, clock) if alert.resolved_at else "—"),
                    html.Td(_who(alert, state, clock)),
                    html.Td(_history(page.history.get(alert.id, []), clock)),
                    html.Td(_actions(alert, state, can_act), className="actions"),
                ],
            )
        )
    more = (
        html.P(
            f"Showing {len(page.alarms)} of {page.total}; narrow the filters or the range.",
            className="muted",
        )
        if page.total > len(page.alarms)
        else html.P(f"{page.total} alarm(s).", className="muted")
    )
    return [
        html.Table(
            className="table",
            id="alerts-journal-table",
            children=[html.Thead(header), html.Tbody(rows)],
        ),
        more,
    ]
