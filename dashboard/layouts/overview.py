"""Plant overview: every machine as a tile, grouped by line (or sorted by risk or status).

A tile says the same thing three ways (border colour, a word, the numbers) so it reads from
across the room and for colour-blind eyes. Status wins over risk: a machine that is down
says DOWN and for how long, and its risk is greyed. Data older than the stale limit greys
the tile and says how old it is. Sorting and filtering are links that change the URL's
query, so a wall screen's bookmark keeps them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from dash import dcc, html

from dashboard.config import DashboardConfig
from dashboard.layouts.common import age, fmt_age, fmt_hours, fmt_pct, machine_href
from dashboard.theme import RiskLevel, risk_level
from dashboard.view import SORTS, ViewOptions
from dashboard.words import fmt_duration

RISK_ORDER = {RiskLevel.CRITICAL: 0, RiskLevel.WARNING: 1, RiskLevel.OK: 2, RiskLevel.UNKNOWN: 3}
STATUS_ORDER = {"down": 0, "maintenance": 1, "offline": 2, "running": 3}
STATUS_WORDS = {"down": "DOWN", "maintenance": "MAINTENANCE", "offline": "OFFLINE"}


def layout() -> html.Div:
    return html.Div(
        className="overview",
        children=[
            html.Div(
                className="page-head",
                children=[
                    html.H1("Plant overview", className="page-title"),
                    html.Div(id="overview-controls", className="chips"),
                ],
            ),
            html.Div(id="overview-summary", className="summary"),
            html.Div(id="overview-lines", className="lines"),
            html.Div(id="overview-stamp"),
        ],
    )


def render_controls(frame: pd.DataFrame, view: ViewOptions, base_path: str) -> list[Any]:
    """Sort and filter chips: links to the same page with another query."""

    def chip(text: str, active: bool, **changes: Any) -> dcc.Link:
        return dcc.Link(text, href=base_path + view.query(**changes),
                        className="chip" + (" chip-active" if active else ""),
                        id=f"chip-{text.lower().replace(' ', '-')}")  # fmt: skip

    out: list[Any] = [html.Span("Sort", className="chip-label")]
    out += [chip(s, view.sort == s, sort=s) for s in SORTS]
    lines = sorted(x for x in frame["line"].unique() if x) if not frame.empty else []
    out.append(html.Span("Line", className="chip-label"))
    out.append(chip("all lines", view.line is None, line=None))
    out += [chip(line, view.line == line, line=line) for line in lines]
    out.append(html.Span("Status", className="chip-label"))
    out.append(chip("any status", view.status is None, status=None))
    out += [chip(s, view.status == s, status=s) for s in ("running", "down", "maintenance",
                                                          "offline")]  # fmt: skip
    return out


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


def _tile(row: Any, config: DashboardConfig, now: datetime, base_path: str, query: str) -> Any:
    level = risk_level(row.p_fail, row.rul_low, config)
    data_age = age(row.last_reading_at, now)
    stale = data_age is None or data_age > timedelta(seconds=config.stale_after_s)
    running = row.status == "running"
    classes = ["tile", f"risk-{level.value}" if running else "risk-none", f"status-{row.status}"]
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
    if running:
        word = "no score" if level is RiskLevel.UNKNOWN else f"risk {level.value}"
        word_cls = f"risk-word risk-{level.value}"
    else:
        since = age(row.status_since, now)
        word = f"{STATUS_WORDS.get(row.status, row.status)} for {fmt_duration(since)}"
        word_cls = f"risk-word status-word status-{row.status}"
    body = html.Div(
        className=" ".join(classes),
        **{"data-machine": str(row.name), "data-risk": level.value},  # type: ignore[arg-type]
        children=[
            html.Div(
                className="tile-head",
                children=[
                    html.Span(row.name, className="tile-name"),
                    html.Span(row.status, className=f"pill status-{row.status}"),
                ],
            ),
            html.Div(
                f"{row.line or 'no line'} · {row.machine_class or ''}", className="tile-class"
            ),
            html.Div(
                className="tile-metrics" + ("" if running else " metrics-muted"),
                children=[
                    html.Div(
                        [
                            html.Span(fmt_pct(row.p_fail), className="metric-value"),
                            html.Span("failure risk (24 h)", className="metric-label"),
                        ]
                    ),
                    html.Div(
                        [
                            html.Span(fmt_hours(row.rul_low), className="metric-value"),
                            html.Span("life, 10 % low", className="metric-label"),
                        ]
                    ),
                ],
            ),
            html.Div(
                className="tile-foot", children=[html.Span(word, className=word_cls), *alerts]
            ),
            html.Div(
                ("STALE · " if stale else "") + "data " + fmt_age(data_age),
                className="tile-age" + (" stale-text" if stale else ""),
            ),
        ],
    )
    return dcc.Link(body, href=machine_href(base_path, row.name) + query, className="tile-link")


def _sorted(frame: pd.DataFrame, config: DashboardConfig, sort: str) -> pd.DataFrame:
    levels = [
        RISK_ORDER[risk_level(p, r, config)] for p, r in zip(frame["p_fail"], frame["rul_low"],
                                                            strict=True)
    ]  # fmt: skip
    frame = frame.assign(
        _risk=levels,
        _p=pd.to_numeric(frame["p_fail"], errors="coerce").fillna(-1.0),
        _status=[STATUS_ORDER.get(s, 9) for s in frame["status"]],
    )
    if sort == "risk":
        return frame.sort_values(["_risk", "_p", "name"], ascending=[True, False, True])
    if sort == "status":
        return frame.sort_values(["_status", "_risk", "name"])
    return frame.sort_values("name")


def render_lines(
    frame: pd.DataFrame,
    config: DashboardConfig,
    now: datetime,
    base_path: str,
    view: ViewOptions | None = None,
) -> list[Any]:
    """One section per production line (or, sorted by risk/status/name, one flat grid)."""
    view = view or ViewOptions()
    if frame.empty:
        return [html.P("No machines registered yet.", className="muted")]
    if view.line:
        frame = frame[frame["line"] == view.line]
    if view.status:
        frame = frame[frame["status"] == view.status]
    if frame.empty:
        return [html.P("No machine matches the filter.", className="muted", id="overview-none")]
    query = view.query(sort="line", line=None, status=None)
    if view.sort != "line":
        ordered = _sorted(frame, config, view.sort)
        return [
            html.Section(
                className="line line-all",
                children=[
                    html.H2(f"All machines by {view.sort}", className="line-title"),
                    html.Div(
                        className="tiles",
                        id="tiles-sorted",
                        children=[
                            _tile(row, config, now, base_path, query)
                            for row in ordered.itertuples(index=False)
                        ],
                    ),
                ],
            )
        ]
    sections = []
    lines = sorted(frame["line"].unique(), key=lambda line: (line == "", line))
    for line in lines:
        group = frame[frame["line"] == line].sort_values("name")
        sections.append(
            html.Section(
                className="line",
                children=[
                    html.H2(line or "Unassigned", className="line-title"),
                    html.Div(
                        className="tiles",
                        children=[
                            _tile(row, config, now, base_path, query)
                            for row in group.itertuples(index=False)
                        ],
                    ),
                ],
            )
        )
    return sections
