"""Machine page: sensor trends, risk history with model versions, top features, events.

The range and the sensors are chosen on the page; the trend query downsamples in the database
to the bucket the range needs (`dashboard.downsample`), so a week of one-minute data for twenty
sensors arrives as a few thousand points.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
from dash import dcc, html

from dashboard.config import DashboardConfig
from dashboard.downsample import RANGES
from dashboard.layouts.common import age, fmt_age, fmt_hours, fmt_pct, fmt_ts
from dashboard.theme import RiskLevel, risk_level

if TYPE_CHECKING:
    from dashboard.callbacks.machine import MachineView

# Not responsive: in that mode dcc.Graph fits each chart to its box again right after drawing
# it, a second full draw of the twenty trend panels, and trades the figures' heights for the
# box's. Figures autosize to their panel's width when drawn; `assets/live.js` fits them again
# when the window changes size.
GRAPH_CONFIG: Any = {"displaylogo": False, "responsive": False}


def layout(
    machine: dict[str, Any],
    sensors: pd.DataFrame,
    range_label: str,
    view: MachineView | None = None,
) -> html.Div:
    """The machine page; with ``view`` (what the refresh callback would send first) the page
    arrives drawn: its charts mount with their figures instead of mounting empty and being
    filled by a second request, and the refresh callback then runs on the tick and on the
    range and sensor pickers only."""

    def first(name: str, prop: str = "figure") -> dict[str, Any]:
        return {prop: getattr(view, name)} if view is not None else {}

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
            html.Div(id="machine-header", className="summary", **first("header", "children")),
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
                            dcc.Graph(id="machine-risk", config=GRAPH_CONFIG, **first("risk")),
                        ],
                    ),
                    html.Section(
                        className="panel",
                        children=[
                            html.H2(
                                "Top contributing features (latest score)", className="panel-title"
                            ),
                            html.Div(
                                id="machine-score", className="muted", **first("score", "children")
                            ),
                            dcc.Graph(
                                id="machine-features", config=GRAPH_CONFIG, **first("features")
                            ),
                        ],
                    ),
                ],
            ),
            html.Section(
                className="panel",
                children=[
                    html.H2(
                        id="machine-trends-title",
                        className="panel-title",
                        children=view.trends_title if view is not None else "Sensor trends",
                    ),
                    dcc.Graph(id="machine-trends", config=GRAPH_CONFIG, **first("trends")),
                ],
            ),
            html.Div(id="machine-stamp", **first("stamp", "children")),
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
