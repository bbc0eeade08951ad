"""Pure figure builders: DataFrames in, Plotly figures out, no I/O.

Kept free of Dash and the database so each chart can be built and inspected in a test, and
so the callbacks stay thin (query, build, return).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard import theme
from dashboard.config import DashboardConfig

# Events drawn as vertical lines on the sensor trends (the rest only on the event strip).
MARKED_KINDS = {"failure": theme.CRITICAL, "maintenance": theme.MAINTENANCE, "repair": theme.OK}
EVENT_SYMBOLS = {
    "failure": "x",
    "repair": "triangle-up",
    "maintenance": "square",
    "error": "diamond",
    "gap": "line-ew",
    "offline": "circle-open",
    "online": "circle",
    "alert": "star",
}
EVENT_ORDER = ["alert", "failure", "repair", "maintenance", "error", "gap", "offline", "online"]
TREND_ROW_PX = 150


def _base(fig: go.Figure, height: int | None = None) -> go.Figure:
    fig.update_layout(
        template=theme.plotly_template(), height=height, autosize=True, uirevision="keep"
    )
    return fig


def empty_figure(message: str, height: int = 220) -> go.Figure:
    """A blank panel that says why it is blank (no data yet, unknown machine...)."""
    fig = go.Figure()
    fig.add_annotation(
        text=html.escape(message),
        showarrow=False,
        font={"size": 16, "color": theme.MUTED},
        xref="paper",
        yref="paper",
        x=0.5,
        y=0.5,
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _base(fig, height)


def utc_strings(values: pd.Series) -> np.ndarray:
    """Timestamps as short naive UTC strings: what plotly.js reads (it ignores offsets
    anyway) at about half the bytes of ISO with an offset, on every point of every trace."""
    text = pd.to_datetime(values, utc=True).dt.strftime("%Y-%m-%d %H:%M:%S")
    return text.to_numpy(dtype=object)


def compact(values: pd.Series, digits: int = 5) -> np.ndarray:
    """Values rounded to ``digits`` significant digits of the series' largest magnitude:
    invisible on a chart, and a third of the JSON of full doubles."""
    array = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    finite = np.abs(array[np.isfinite(array)])
    if finite.size == 0 or finite.max() == 0:
        return array
    decimals = max(0, digits - 1 - math.floor(math.log10(finite.max())))
    return np.round(array, decimals)


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


# --- sensor trends ------------------------------------------------------------------------


def trends_figure(
    trends: pd.DataFrame, events: pd.DataFrame | None = None, bucket: timedelta | None = None
) -> dict[str, Any]:
    """Small multiples, one per sensor: the bucket average as a line inside its min–max band.

    Failures, repairs and maintenance are drawn as vertical lines across every panel so a
    drift can be read against what happened to the machine. Built as a plain figure dict,
    not with `make_subplots`: for twenty sensors plotly's per-point validation took longer
    than the database query, and this is the chart that must load fast. Points sit on a
    regular grid (``x0`` + ``dx``), so only values travel and a missing bucket is a visible gap
    rather than a straight line across an outage.
    """
    if trends.empty:
        return empty_figure("No readings in this range").to_plotly_json()  # type: ignore[no-any-return]
    sensors = list(dict.fromkeys(trends["sensor"]))
    columns = 1 if len(sensors) <= 4 else 2
    rows = math.ceil(len(sensors) / columns)
    height = rows * TREND_ROW_PX + 40
    units = trends.groupby("sensor")["unit"].first().to_dict()
    layout: dict[str, Any] = {
        "template": theme.plotly_template().to_plotly_json(),
        "height": height,
        "autosize": True,
        "uirevision": "keep",
        "hovermode": "closest",
        "showlegend": False,
        "margin": {"l": 48, "r": 12, "t": 28, "b": 28},
        "annotations": [],
    }
    data: list[dict[str, Any]] = []
    times = pd.to_datetime(trends["bucket"], utc=True)
    step = pd.Timedelta(bucket) if bucket is not None else _step(times)
    grid = pd.date_range(times.min(), times.max(), freq=step)
    x0, dx = utc_strings(pd.Series(grid[:1]))[0], step.total_seconds() * 1000
    for index, (sensor, group) in enumerate(trends.groupby("sensor", sort=False)):
        x_domain, y_domain = _cell(index, columns, rows, height)
        suffix = "" if index == 0 else str(index + 1)
        bottom = index + columns >= len(sensors)
        layout[f"xaxis{suffix}"] = {
            "domain": x_domain, "anchor": f"y{suffix}", "type": "date",
            "showticklabels": bottom, **({"matches": "x"} if index else {}),
        }  # fmt: skip
        layout[f"yaxis{suffix}"] = {"domain": y_domain, "anchor": f"x{suffix}"}
        unit = units.get(sensor)
        layout["annotations"].append({
            "text": html.escape(f"{sensor} [{unit}]" if unit else str(sensor)),
            "x": sum(x_domain) / 2, "y": y_domain[1], "xref": "paper", "yref": "paper",
            "xanchor": "center", "yanchor": "bottom", "showarrow": False,
            "font": {"size": 12, "color": theme.MUTED},
        })  # fmt: skip
        colour = theme.SERIES[index % len(theme.SERIES)]
        axes = {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}
        on_grid = group.set_index(pd.to_datetime(group["bucket"], utc=True)).reindex(grid)
        low, high, mean = (_json_values(compact(on_grid[c])) for c in ("min", "max", "avg"))
        band = {
            "type": "scatter",
            "mode": "lines",
            "line": {"width": 0},
            "hoverinfo": "skip",
            "x0": x0,
            "dx": dx,
        }
        data += [
            {**band, **axes, "y": high},
            {**band, **axes, "y": low, "fill": "tonexty", "fillcolor": _rgba(colour, 0.22)},
            {"type": "scatter", "mode": "lines", **axes, "x0": x0, "dx": dx, "y": mean,
             "name": str(sensor), "line": {"color": colour, "width": 1.6},
             "hovertemplate": f"<b>{html.escape(str(sensor))}</b><br>%{{x}} UTC"
             "<br>avg %{y:.4g}<extra></extra>"},
        ]  # fmt: skip
    if events is not None and not events.empty:
        layout["shapes"] = _event_lines(events, min(columns, len(sensors)))
    return {"data": data, "layout": layout}


def _step(times: pd.Series) -> pd.Timedelta:
    """The bucket width when the caller did not say: the smallest gap between buckets."""
    gaps = times.drop_duplicates().sort_values().diff().dropna()
    return gaps.min() if not gaps.empty else pd.Timedelta(minutes=1)


def _json_values(values: np.ndarray) -> list[float | None]:
    """NaN is not JSON: gaps travel as null, which plotly draws as a break in the line."""
    return [None if math.isnan(v) else v for v in values.tolist()]


def _cell(index: int, columns: int, rows: int, height: int) -> tuple[list[float], list[float]]:
    """Paper domains of panel ``index`` in a rows x columns grid (filled row by row)."""
    h_gap = 0.06 if columns > 1 else 0.0
    v_gap = min(0.3, 34 / height) if rows > 1 else 0.0
    width = (1 - (columns - 1) * h_gap) / columns
    tall = (1 - (rows - 1) * v_gap) / rows
    row, col = divmod(index, columns)
    x0 = col * (width + h_gap)
    y1 = 1 - row * (tall + v_gap)
    return [x0, x0 + width], [max(0.0, y1 - tall), y1]


def _event_lines(events: pd.DataFrame, columns: int) -> list[dict[str, Any]]:
    """One dotted line per event and column of panels, top to bottom of the figure.

    Every x axis matches the first, so a line on a column's top axis sits at the same time in
    each panel below it: ``columns`` shapes per event instead of one per panel, which for
    twenty sensors is a tenth of the shapes to draw.
    """
    marked = events[events["kind"].isin(MARKED_KINDS)]
    shapes = []
    for ts, kind in zip(utc_strings(marked["ts"]), marked["kind"], strict=True):
        for column in range(columns):
            suffix = "" if column == 0 else str(column + 1)
            shapes.append({
                "type": "line", "xref": f"x{suffix}", "yref": "paper",
                "x0": ts, "x1": ts, "y0": 0, "y1": 1, "layer": "below",
                "line": {"color": MARKED_KINDS[kind], "width": 1.5, "dash": "dot"},
            })  # fmt: skip
    return shapes


# --- risk ---------------------------------------------------------------------------------


def risk_figure(history: pd.DataFrame, events: pd.DataFrame, config: DashboardConfig) -> go.Figure:
    """p_fail and rul_low over time, one colour per model version, and an event strip.

    A model change shows up as a change of colour, so a jump in risk can be told apart from
    a jump in model.
    """
    if history.empty and events.empty:
        return empty_figure("No risk scores or events in this range")
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.5, 0.3, 0.2],
        vertical_spacing=0.06,
        subplot_titles=["P(failure within horizon)", "RUL, low quantile [h]", "Events"],
    )
    for index, (version, group) in enumerate(history.groupby("model_version", sort=False)):
        colour = theme.SERIES[index % len(theme.SERIES)]
        name = f"model {version}"
        fig.add_trace(
            go.Scatter(
                x=group["ts"],
                y=group["p_fail"],
                name=name,
                legendgroup=name,
                line={"color": colour, "width": 2},
                mode="lines",
                hovertemplate=f"{html.escape(name)}<br>%{{x}}<br>p_fail %{{y:.1%}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=group["ts"],
                y=group["rul_low"],
                name=name,
                legendgroup=name,
                showlegend=False,
                line={"color": colour, "width": 2, "dash": "dash"},
                mode="lines",
                hovertemplate=f"{html.escape(name)}<br>%{{x}}<br>rul_low %{{y:.0f}} h"
                "<extra></extra>",
            ),
            row=2,
            col=1,
        )
    for level, colour in (
        (config.warning_p_fail, theme.WARNING),
        (config.critical_p_fail, theme.CRITICAL),
    ):
        fig.add_hline(y=level, line={"color": colour, "width": 1, "dash": "dot"}, row=1, col=1)
    if not events.empty:
        for kind, group in events.groupby("kind", sort=False):
            hover = [
                f"<b>{html.escape(str(kind))}</b> · {html.escape(str(source))}<br>"
                f"{html.escape(_short(detail))}"
                for source, detail in zip(group["source"], group["detail"], strict=True)
            ]
            fig.add_trace(
                go.Scatter(
                    x=group["ts"],
                    y=[kind] * len(group),
                    mode="markers",
                    name=str(kind),
                    marker={
                        "symbol": EVENT_SYMBOLS.get(str(kind), "circle"),
                        "size": 11,
                        "color": _event_colour(str(kind)),
                        "line": {"width": 1.5, "color": theme.TEXT},
                    },
                    text=hover,
                    hovertemplate="%{x}<br>%{text}<extra></extra>",
                    showlegend=False,
                ),
                row=3,
                col=1,
            )
        present = [k for k in EVENT_ORDER if k in set(events["kind"])]
        fig.update_yaxes(categoryorder="array", categoryarray=present, row=3, col=1)
    fig.update_yaxes(range=[0, 1], tickformat=".0%", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", row=2, col=1)
    fig.update_annotations(font={"size": 12, "color": theme.MUTED})
    fig.update_layout(legend={"orientation": "h", "y": 1.08, "x": 0}, hovermode="closest")
    return _base(fig, 460)


def _event_colour(kind: str) -> str:
    return {
        "failure": theme.CRITICAL,
        "alert": theme.WARNING,
        "maintenance": theme.MAINTENANCE,
        "repair": theme.OK,
    }.get(kind, theme.MUTED)


def _short(detail: Any, limit: int = 160) -> str:
    text = "" if detail is None else str(detail)
    if text in ("{}", "None"):
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_top_features(raw: Any) -> list[tuple[str, float]]:
    """Top features from a risk score's jsonb, whatever shape the model wrote.

    Accepts a list of objects (``feature``/``name`` with ``contribution``/``shap``/``value``/
    ``importance``), a list of ``[name, value]`` pairs, or an object ``{name: value}``. Entries
    that cannot be read are skipped: this is for people, a malformed item must not blank it.
    """
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return []
    items: Iterable[Any]
    if isinstance(raw, dict):
        items = raw.items()
    elif isinstance(raw, list):
        items = raw
    else:
        return []
    parsed: list[tuple[str, float]] = []
    for item in items:
        name: Any = None
        value: Any = None
        if isinstance(item, dict):
            name = next((item[k] for k in ("feature", "name") if k in item), None)
            value = next(
                (item[k] for k in ("contribution", "shap", "value", "importance") if k in item),
                None,
            )
        elif isinstance(item, list | tuple) and len(item) == 2:
            name, value = item
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if name is None or not math.isfinite(number):
            continue
        parsed.append((str(name), number))
    return sorted(parsed, key=lambda pair: abs(pair[1]), reverse=True)


def features_figure(top_features: list[tuple[str, float]], limit: int = 10) -> go.Figure:
    """Horizontal bars: what pushes the latest score up (red) or down (green)."""
    if not top_features:
        return empty_figure("No feature contributions in the latest score")
    shown = list(reversed(top_features[:limit]))  # largest at the top
    fig = go.Figure(
        go.Bar(
            x=[v for _, v in shown],
            y=[n for n, _ in shown],
            orientation="h",
            marker={"color": [theme.CRITICAL if v > 0 else theme.OK for _, v in shown]},
            hovertemplate="%{y}: %{x:+.3g}<extra></extra>",
        )
    )
    fig.update_layout(margin={"l": 8, "r": 16, "t": 16, "b": 32})
    fig.update_yaxes(automargin=True)
    fig.update_xaxes(title_text="contribution to risk")
    return _base(fig, max(220, 34 * len(shown) + 60))


# --- schedule -----------------------------------------------------------------------------


def _fmt_ts(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "—"
    return pd.Timestamp(value).strftime("%a %d %b %H:%M")


def _maintenance_hover(reason: dict[str, Any] | None) -> str:
    reason = reason or {}
    lines = ["<b>Maintenance</b>"]
    if reason.get("text"):
        lines.append(html.escape(str(reason["text"])))
    risk = reason.get("risk") or {}
    if risk:
        p_fail = risk.get("p_fail")
        rul_low = risk.get("rul_low_hours", risk.get("rul_low"))
        if p_fail is not None:
            lines.append(f"p_fail {float(p_fail):.0%}")
        if rul_low is not None:
            lines.append(f"rul_low {float(rul_low):.0f} h")
        if risk.get("model_version"):
            lines.append(f"model {html.escape(str(risk['model_version']))}")
        if risk.get("scored_at"):
            lines.append(f"scored {_fmt_ts(risk['scored_at'])}")
    else:
        lines.append("no risk recorded (planned maintenance)")
    if reason.get("deadline_at"):
        lines.append(f"must finish by {_fmt_ts(reason['deadline_at'])}")
    return "<br>".join(lines)


def _operation_hover(row: Any) -> str:
    lines = [f"<b>{html.escape(str(row.job))}</b> · op {row.seq} {html.escape(str(row.operation))}"]
    lines.append(f"{_fmt_ts(row.start_at)} → {_fmt_ts(row.end_at)}")
    lines.append(f"due {_fmt_ts(row.due_at)}")
    if row.late:
        lines.append(f"<b>LATE by {row.lateness_min:.0f} min</b>")
    reason = row.reason if isinstance(row.reason, dict) else {}
    if reason.get("text"):
        lines.append(html.escape(str(reason["text"])))
    return "<br>".join(lines)


def gantt_figure(assignments: pd.DataFrame, now: datetime | None = None) -> go.Figure:
    """The plan per machine: production in blue, late jobs in red, maintenance hatched amber.

    Hovering a maintenance bar shows the risk that put it there (p_fail, rul_low, model).
    """
    if assignments.empty:
        return empty_figure("The current plan has no assignments")
    machines = list(dict.fromkeys(assignments["machine"]))
    start = pd.to_datetime(assignments["start_at"], utc=True)
    end = pd.to_datetime(assignments["end_at"], utc=True)
    frame = assignments.assign(
        start_at=start, end_at=end, duration_ms=(end - start).dt.total_seconds() * 1000
    )
    groups = (
        (
            "Production",
            frame[(frame["kind"] == "operation") & ~frame["late"]],
            theme.PRODUCTION,
            "",
        ),
        ("Late job", frame[(frame["kind"] == "operation") & frame["late"]], theme.CRITICAL, ""),
        ("Maintenance", frame[frame["kind"] == "maintenance"], theme.MAINTENANCE, "/"),
    )
    fig = go.Figure()
    for name, group, colour, pattern in groups:
        if group.empty:
            continue
        if name == "Maintenance":
            hover = [_maintenance_hover(r) for r in group["reason"]]
            labels = ["maint."] * len(group)
        else:
            hover = [_operation_hover(r) for r in group.itertuples()]
            labels = [str(j) for j in group["job"]]
        fig.add_trace(
            go.Bar(
                name=name,
                y=group["machine"],
                base=group["start_at"],
                x=group["duration_ms"],
                orientation="h",
                text=labels,
                textposition="inside",
                insidetextanchor="middle",
                hovertext=hover,
                hovertemplate="%{hovertext}<extra></extra>",
                marker={
                    "color": colour,
                    "line": {
                        "color": theme.TEXT if name == "Late job" else theme.PANEL,
                        "width": 2 if name == "Late job" else 1,
                    },
                    "pattern": {
                        "shape": pattern,
                        "fillmode": "overlay",
                        "fgcolor": theme.BACKGROUND,
                        "solidity": 0.3,
                    },
                },
            )
        )
    fig.update_xaxes(type="date")
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(machines)))
    if now is not None:
        fig.add_vline(x=now, line={"color": theme.ACCENT, "width": 2, "dash": "dash"})
        fig.add_annotation(
            x=now,
            y=1.0,
            yref="paper",
            yanchor="bottom",
            text="now",
            showarrow=False,
            font={"color": theme.ACCENT},
        )
    fig.update_layout(
        barmode="overlay",
        bargap=0.25,
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        hovermode="closest",
        uniformtext={"minsize": 10, "mode": "hide"},
    )
    return _base(fig, max(260, 48 * len(machines) + 110))
