"""Alerts page: open risk episodes, critical first, each with an acknowledge button.

Acknowledging records who is on it (`alerts.service.acknowledge`); the buttons are disabled
for users without the maintenance or planner role, and the callback checks again.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from dash import dcc, html

from dashboard.layouts.common import fmt_hours, fmt_pct, fmt_ts, machine_href, missing


def layout() -> html.Div:
    return html.Div(
        className="alerts",
        children=[
            dcc.Store(id="alerts-acked", data=0),
            html.Div(
                className="page-head",
                children=[
                    html.H1("Open alerts", className="page-title"),
                    html.Span(id="alerts-message", className="message", role="status"),
                ],
            ),
            html.Section(className="panel", children=[html.Div(id="alerts-table")]),
            html.Div(id="alerts-stamp"),
        ],
    )


def render_table(frame: pd.DataFrame, can_ack: bool, base_path: str) -> Any:
    if frame.empty:
        return html.P("No open alerts. All clear.", className="muted", id="alerts-empty")
    header = html.Tr(
        [
            html.Th(h)
            for h in (
                "Severity",
                "Machine",
                "Line",
                "Rule",
                "State",
                "Opened",
                "p_fail",
                "rul_low",
                "Acknowledged",
                "",
            )
        ]
    )
    rows = []
    for r in frame.itertuples(index=False):
        acked = not missing(r.acked_at)
        ack_cell: Any = (
            html.Span("✓", className="muted")
            if acked
            else html.Button(
                "Acknowledge",
                id={"type": "ack-alert", "alert": int(r.id)},
                n_clicks=0,
                className="btn btn-small",
                disabled=not can_ack,
                title="" if can_ack else "Needs the maintenance or planner role",
            )
        )
        rows.append(
            html.Tr(
                className=f"row-{r.severity}" + (" row-acked" if acked else ""),
                children=[
                    html.Td(
                        html.Span(str(r.severity).upper(), className=f"badge sev-{r.severity}")
                    ),
                    html.Td(
                        dcc.Link(
                            str(r.machine),
                            href=machine_href(base_path, str(r.machine)),
                            className="link",
                        )
                    ),
                    html.Td(str(r.line)),
                    html.Td(str(r.rule)),
                    html.Td(str(r.state)),
                    html.Td(fmt_ts(r.opened_at)),
                    html.Td(fmt_pct(r.p_fail)),
                    html.Td(fmt_hours(r.rul_low)),
                    html.Td(f"{r.acked_by} · {fmt_ts(r.acked_at)}" if acked else "—"),
                    html.Td(ack_cell),
                ],
            )
        )
    return html.Table(
        className="table", id="alerts-open-table", children=[html.Thead(header), html.Tbody(rows)]
    )
