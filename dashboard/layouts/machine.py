"""Machine page: sensor trends, risk history with model versions, top features, events.

The range and the sensors are chosen on the page; the trend query downsamples in the database
to the bucket the range needs (`dashboard.downsample`), so a week of one-minute data for twenty
sensors arrives as a few thousand points.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from dash import dcc, html

from dashboard.config import DashboardConfig
from dashboard.downsample import RANGES
from dashboard.layouts.common import age, fmt_age, fmt_hours, fmt_pct, fmt_ts
from dashboard.theme import RiskLevel, risk_level

GRAPH_CONFIG: Any = {"displaylogo": False, "responsive": True}


def layout(machine: dict[str, Any], sensors: pd.DataFrame, range_label: str) -> html.Div:
    options: list[dict[str, Any]] = [
        {"label": f"{r.name} [{r.unit}]" if r.unit else str(r.name), "value": int(r.id)}
        for r in sensors.itertuples(index=False)
    ]
    return html.Div(
        className="machine",
        children=[
            dcc.Store(id="machine-name", data=str(machine["name"])),
            html.Div(
                className="page-head",
                children=[
                    html.H1(machine["name"], className="page-title", id="machine-title"),
                    html.Span(
                        f"{machine['line'] or 'no line'} · {machine['machine_class'] or ''}",
                        className="muted",
                    ),
                ],
            ),
            html.Div(id="machine-header", className="summary"),
            html.Div(
                className="controls",
                children=[
                    dcc.RadioItems(
                        id="machine-range",
                        options=[{"label": label, "value": label} for label in RANGES],
                        value=range_label,
                        inline=True,
                        className="range-picker",
                    ),
                    dcc.Dropdown(
                        id="machine-sensors",
                        options=options,
                        value=[o["value"] for o in options],
                        multi=True,
                        placeholder="Sensors",
                        className="sensor-picker",
                    ),
                ],
            ),
            html.Div(
                className="grid-2",
                children=[
                    html.Section(
                        className="panel",
                        children=[
                            html.H2("Risk and events", className="panel-title"),
                            dcc.Graph(id="machine-risk", config=GRAPH_CONFIG),
                        ],
                    ),
                    html.Section(
                        className="panel",
                        children=[
                            html.H2(
                                "Top contributing features (latest score)", className="panel-title"
                            ),
                            html.Div(id="machine-score", className="muted"),
                            dcc.Graph(id="machine-features", config=GRAPH_CONFIG),
                        ],
                    ),
                ],
            ),
            html.Section(
                className="panel",
                children=[
                    html.H2(
                        id="machine-trends-title", className="panel-title", children="Sensor trends"
                    ),
                    dcc.Graph(id="machine-trends", config=GRAPH_CONFIG),
                ],
            ),
            html.Div(id="machine-stamp"),
        ],
    )


def not_found(name: str, base_path: str) -> html.Div:
    return html.Div(
        className="machine",
        children=[
            html.H1("Unknown machine", className="page-title"),
            html.P(f"No machine is named {name!r}.", className="muted"),
            dcc.Link("Back to the overview", href=base_path, className="link"),
        ],
    )


def render_header(
    machine: dict[str, Any],
    latest: dict[str, Any] | None,
    last_reading_at: Any,
    config: DashboardConfig,
    now: datetime,
) -> list[Any]:
    """Status, latest risk with its model version, and how fresh the data is."""
    latest = latest or {}
    level = risk_level(latest.get("p_fail"), latest.get("rul_low"), config)
    data_age = age(last_reading_at, now)
    stale = data_age is None or data_age > timedelta(seconds=config.stale_after_s)
    risk_cls = "" if level is RiskLevel.UNKNOWN else f"sev-{level.value}"
    items = [
        (machine["status"], "status", f"status-{machine['status']}"),
        (fmt_pct(latest.get("p_fail")), "p_fail", risk_cls),
        (fmt_hours(latest.get("rul_low")), "rul_low", risk_cls),
        (str(latest.get("model_version") or "—"), "model", ""),
        (fmt_ts(latest.get("ts")), "scored", ""),
        (
            ("STALE · " if stale else "") + fmt_age(data_age),
            "last data",
            "stale-text" if stale else "",
        ),
    ]
    return [
        html.Div(
            className=f"summary-item {cls}",
            children=[
                html.Span(value, className="summary-value"),
                html.Span(label, className="summary-label"),
            ],
        )
        for value, label, cls in items
    ]
