"""Plant overview: every machine as a tile, grouped by line, coloured by risk.

A tile says the same thing three ways (border colour, a risk word, the numbers) so it reads
from across the room and for colour-blind eyes. Data older than the stale limit greys the
tile and says how old it is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from dash import dcc, html

from dashboard.config import DashboardConfig
from dashboard.layouts.common import age, fmt_age, fmt_hours, fmt_pct, machine_href
from dashboard.theme import RiskLevel, risk_level


def layout() -> html.Div:
    return html.Div(
        className="overview",
        children=[
            html.H1("Plant overview", className="page-title"),
            html.Div(id="overview-summary", className="summary"),
            html.Div(id="overview-lines", className="lines"),
            html.Div(id="overview-stamp"),
        ],
    )


def render_summary(frame: pd.DataFrame) -> list[Any]:
    counts = frame["status"].value_counts().to_dict() if not frame.empty else {}
    alerts = int(frame["open_alerts"].sum()) if not frame.empty else 0
    critical = int(frame["critical_alerts"].sum()) if not frame.empty else 0
    items = [("machines", len(frame), "")]
    items += [
        (s, int(counts.get(s, 0)), f"status-{s}")
        for s in ("running", "down", "maintenance", "offline")
    ]
    items.append(
        ("open alerts", alerts, "sev-critical" if critical else ("sev-warning" if alerts else ""))
    )
    return [
        html.Div(
            className=f"summary-item {cls}",
            children=[
                html.Span(str(value), className="summary-value"),
                html.Span(label, className="summary-label"),
            ],
        )
        for label, value, cls in items
    ]


def _tile(row: Any, config: DashboardConfig, now: datetime, base_path: str) -> dcc.Link:
    level = risk_level(row.p_fail, row.rul_low, config)
    data_age = age(row.last_reading_at, now)
    stale = data_age is None or data_age > timedelta(seconds=config.stale_after_s)
    classes = ["tile", f"risk-{level.value}", f"status-{row.status}"]
    if stale:
        classes.append("tile-stale")
    alerts: list[Any] = []
    if row.open_alerts:
        sev = "critical" if row.critical_alerts else "warning"
        alerts.append(
            html.Span(
                f"⚠ {int(row.open_alerts)} alert" + ("s" if row.open_alerts > 1 else ""),
                className=f"badge sev-{sev}",
            )
        )
    risk_word = "no score" if level is RiskLevel.UNKNOWN else f"risk {level.value}"
    body = html.Div(
        className=" ".join(classes),
        **{"data-machine": str(row.name)},  # type: ignore[arg-type]
        children=[
            html.Div(
                className="tile-head",
                children=[
                    html.Span(row.name, className="tile-name"),
                    html.Span(row.status, className=f"pill status-{row.status}"),
                ],
            ),
            html.Div(row.machine_class or "", className="tile-class"),
            html.Div(
                className="tile-metrics",
                children=[
                    html.Div(
                        [
                            html.Span(fmt_pct(row.p_fail), className="metric-value"),
                            html.Span("p_fail", className="metric-label"),
                        ]
                    ),
                    html.Div(
                        [
                            html.Span(fmt_hours(row.rul_low), className="metric-value"),
                            html.Span("rul_low", className="metric-label"),
                        ]
                    ),
                ],
            ),
            html.Div(
                className="tile-foot",
                children=[
                    html.Span(risk_word, className=f"risk-word risk-{level.value}"),
                    *alerts,
                ],
            ),
            html.Div(
                ("STALE · " if stale else "") + "data " + fmt_age(data_age),
                className="tile-age" + (" stale-text" if stale else ""),
            ),
        ],
    )
    return dcc.Link(body, href=machine_href(base_path, row.name), className="tile-link")


def render_lines(
    frame: pd.DataFrame, config: DashboardConfig, now: datetime, base_path: str
) -> list[Any]:
    """One section per production line, its machines as tiles (machines without a line last)."""
    if frame.empty:
        return [html.P("No machines registered yet.", className="muted")]
    sections = []
    lines = sorted(frame["line"].unique(), key=lambda line: (line == "", line))
    for line in lines:
        group = frame[frame["line"] == line]
        sections.append(
            html.Section(
                className="line",
                children=[
                    html.H2(line or "Unassigned", className="line-title"),
                    html.Div(
                        className="tiles",
                        children=[
                            _tile(row, config, now, base_path)
                            for row in group.itertuples(index=False)
                        ],
                    ),
                ],
            )
        )
    return sections
