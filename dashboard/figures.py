"""Pure figure builders: DataFrames in, Plotly figures out, no I/O.

Kept free of Dash and the database so each chart can be built and inspected in a test, and
so the callbacks stay thin (query, build, return).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard import theme
from dashboard.words import (
    RUL_LOW_LABEL,
    feature_label,
    feature_sensor_stat,
    fmt_value,
    risk_label,
)

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


def _base(fig: go.Figure, height: int | None = None, look: str = "dark") -> go.Figure:
    fig.update_layout(
        template=theme.plotly_template(look), height=height, autosize=True, uirevision="keep"
    )
    return fig


def empty_figure(message: str, height: int = 220, look: str = "dark") -> go.Figure:
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
    return _base(fig, height, look)


def utc_strings(values: pd.Series, tz: tzinfo | None = None) -> np.ndarray:
    """Timestamps as short naive strings in the plant's zone (UTC without ``tz``): what
    plotly.js reads (it has no time zones) at about half the bytes of ISO with an offset."""
    times = pd.to_datetime(values, utc=True)
    if tz is not None:
        times = times.dt.tz_convert(tz)
    return times.dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(dtype=object)


local_strings = utc_strings


def local_ms(values: pd.DatetimeIndex, tz: tzinfo | None) -> np.ndarray:
    """Timestamps as plotly date numbers (ms) of their wall time in ``tz``."""
    index = pd.DatetimeIndex(values)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    if tz is not None:
        index = index.tz_convert(tz)
    return index.tz_localize(None).as_unit("ms").asi8


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


def constant_sensors(trends: pd.DataFrame, tolerance: float = 1e-9) -> list[str]:
    """Sensors whose every reading in the range has the same value (they draw empty plots)."""
    if trends.empty:
        return []
    spread = trends.groupby("sensor").agg(low=("min", "min"), high=("max", "max"))
    scale = np.maximum(1.0, np.abs(spread["high"].astype(float)))
    flat = (spread["high"].astype(float) - spread["low"].astype(float)) <= tolerance * scale
    return sorted(str(s) for s in spread.index[flat])


def _band(low: np.ndarray, high: np.ndarray, xs: np.ndarray) -> tuple[list[Any], list[Any]]:
    """The min–max band as closed polygons, one per run of buckets with data: a gap in the
    data is a gap in the band (a single filled trace would bridge it with a diagonal)."""
    present = ~(np.isnan(low) | np.isnan(high))
    x: list[Any] = []
    y: list[Any] = []
    index = 0
    n = len(present)
    while index < n:
        if not present[index]:
            index += 1
            continue
        end = index
        while end < n and present[end]:
            end += 1
        seg = slice(index, end)
        x += xs[seg].tolist() + xs[seg][::-1].tolist() + [None]
        y += high[seg].tolist() + low[seg][::-1].tolist() + [None]
        index = end
    return x, y


def trends_figure(
    trends: pd.DataFrame,
    events: pd.DataFrame | None = None,
    bucket: timedelta | None = None,
    *,
    tz: tzinfo | None = None,
    look: str = "dark",
    window: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    """Small multiples, one per sensor: the bucket average as a line inside its min–max band.

    Failures, repairs and maintenance are drawn as vertical lines across every panel so a
    drift can be read against what happened to the machine. Built as a plain figure dict,
    not with `make_subplots`: for twenty sensors plotly's per-point validation took longer
    than the database query, and this is the chart that must load fast. Averages sit on a
    regular grid (``x0`` + ``dx``), so only values travel and a missing bucket is a visible
    gap; the band is drawn as polygons broken at the same gaps. Times are the plant's wall
    time (``tz``); each panel's y axis carries the sensor's unit.
    """
    colours = theme.palette(look)
    if trends.empty:
        return empty_figure("No readings in this range", look=look).to_plotly_json()  # type: ignore[no-any-return]
    sensors = list(dict.fromkeys(trends["sensor"]))
    columns = 1 if len(sensors) <= 4 else 2
    rows = math.ceil(len(sensors) / columns)
    height = rows * TREND_ROW_PX + 40
    units = trends.groupby("sensor")["unit"].first().to_dict()
    layout: dict[str, Any] = {
        "template": theme.plotly_template(look).to_plotly_json(),
        "height": height,
        "autosize": True,
        "uirevision": "keep",
        "hovermode": "closest",
        "showlegend": False,
        "margin": {"l": 56, "r": 12, "t": 28, "b": 28},
        "annotations": [],
    }
    data: list[dict[str, Any]] = []
    times = pd.to_datetime(trends["bucket"], utc=True)
    step = pd.Timedelta(bucket) if bucket is not None else _step(times)
    grid = pd.date_range(times.min(), times.max(), freq=step)
    x0, dx = utc_strings(pd.Series(grid[:1]), tz)[0], step.total_seconds() * 1000
    xs = local_ms(grid, tz)
    zone = _zone_name(tz, grid[0])
    x_range = None
    if window is not None:
        x_range = list(utc_strings(pd.Series(list(window)), tz))
    for index, (sensor, group) in enumerate(trends.groupby("sensor", sort=False)):
        x_domain, y_domain = _cell(index, columns, rows, height)
        suffix = "" if index == 0 else str(index + 1)
        bottom = index + columns >= len(sensors)
        unit = units.get(sensor) or ""
        layout[f"xaxis{suffix}"] = {
            "domain": x_domain, "anchor": f"y{suffix}", "type": "date",
            "showticklabels": bottom, **({"matches": "x"} if index else {}),
            **({"range": x_range} if x_range is not None and index == 0 else {}),
        }  # fmt: skip
        layout[f"yaxis{suffix}"] = {
            "domain": y_domain, "anchor": f"x{suffix}",
            "title": {"text": html.escape(unit), "standoff": 2, "font": {"size": 11}},
        }  # fmt: skip
        layout["annotations"].append({
            "text": html.escape(f"{sensor} [{unit}]" if unit else str(sensor)),
            "x": sum(x_domain) / 2, "y": y_domain[1], "xref": "paper", "yref": "paper",
            "xanchor": "center", "yanchor": "bottom", "showarrow": False,
            "font": {"size": 12, "color": colours.muted},
        })  # fmt: skip
        colour = colours.series[index % len(colours.series)]
        axes = {"xaxis": f"x{suffix}", "yaxis": f"y{suffix}"}
        on_grid = group.set_index(pd.to_datetime(group["bucket"], utc=True)).reindex(grid)
        low, high, mean = (compact(on_grid[c]) for c in ("min", "max", "avg"))
        band_x, band_y = _band(low, high, xs)
        unit_text = f" {html.escape(unit)}" if unit else ""
        data += [
            {"type": "scatter", "mode": "lines", **axes, "x": band_x, "y": band_y,
             "fill": "toself", "fillcolor": _rgba(colour, 0.22), "line": {"width": 0},
             "hoverinfo": "skip", "name": f"{sensor} min–max"},
            {"type": "scatter", "mode": "lines", **axes, "x0": x0, "dx": dx,
             "y": _json_values(mean), "name": str(sensor), "line": {"color": colour, "width": 1.6},
             "hovertemplate": f"<b>{html.escape(str(sensor))}</b><br>%{{x}} {zone}"
             f"<br>avg %{{y:.4g}}{unit_text}<extra></extra>"},
        ]  # fmt: skip
    if events is not None and not events.empty:
        layout["shapes"] = _event_lines(events, min(columns, len(sensors)), tz)
    return {"data": data, "layout": layout}


def _zone_name(tz: tzinfo | None, at: Any) -> str:
    if tz is None:
        return "UTC"
    return pd.Timestamp(at).tz_convert(tz).tzname() or str(tz)


def _step(times: pd.Series) -> pd.Timedelta:
    """The bucket width when the caller did not say: the smallest gap between buckets."""
    gaps = times.drop_duplicates().sort_values().diff().dropna()
    return gaps.min() if not gaps.empty else pd.Timedelta(minutes=1)


def _json_values(values: np.ndarray) -> list[float | None]:
    """NaN is not JSON: gaps travel as null, which plotly draws as a break in the line."""
    return [None if math.isnan(v) else v for v in values.tolist()]


def _cell(index: int, columns: int, rows: int, height: int) -> tuple[list[float], list[float]]:
    """Paper domains of panel ``index`` in a rows x columns grid (filled row by row)."""
    h_gap = 0.07 if columns > 1 else 0.0
    v_gap = min(0.3, 34 / height) if rows > 1 else 0.0
    width = (1 - (columns - 1) * h_gap) / columns
    tall = (1 - (rows - 1) * v_gap) / rows
    row, col = divmod(index, columns)
    x0 = col * (width + h_gap)
    y1 = 1 - row * (tall + v_gap)
    return [x0, x0 + width], [max(0.0, y1 - tall), y1]


def _event_lines(
    events: pd.DataFrame, columns: int, tz: tzinfo | None = None
) -> list[dict[str, Any]]:
    """One dotted line per event and column of panels, top to bottom of the figure.

    Every x axis matches the first, so a line on a column's top axis sits at the same time in
    each panel below it: ``columns`` shapes per event instead of one per panel, which for
    twenty sensors is a tenth of the shapes to draw.
    """
    marked = events[events["kind"].isin(MARKED_KINDS)]
    shapes = []
    for ts, kind in zip(utc_strings(marked["ts"], tz), marked["kind"], strict=True):
        for column in range(columns):
            suffix = "" if column == 0 else str(column + 1)
            shapes.append({
                "type": "line", "xref": f"x{suffix}", "yref": "paper",
                "x0": ts, "x1": ts, "y0": 0, "y1": 1, "layer": "below",
                "line": {"color": MARKED_KINDS[kind], "width": 1.5, "dash": "dot"},
            })  # fmt: skip
    return shapes


# --- risk ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """The alert rule's thresholds for one machine (what a line on the risk chart means)."""

    warning_p_fail: float | None = None
    critical_p_fail: float | None = None
    warning_rul_low: float | None = None
    critical_rul_low: float | None = None


def risk_figure(
    history: pd.DataFrame,
    events: pd.DataFrame,
    thresholds: Thresholds,
    *,
    horizon_hours: Any = None,
    tz: tzinfo | None = None,
    look: str = "dark",
    window: tuple[datetime, datetime] | None = None,
) -> go.Figure:
    """Failure risk and remaining life over time, one colour per model version, the alert
    thresholds as labelled lines, and an event strip.

    A model change shows up as a change of colour, so a jump in risk can be told apart from
    a jump in model.
    """
    colours = theme.palette(look)
    if history.empty and events.empty:
        return empty_figure("No risk scores or events in this range", look=look)
    risk_title = risk_label(horizon_hours)
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        row_heights=[0.5, 0.3, 0.2],
        vertical_spacing=0.07,
        subplot_titles=[f"{risk_title} [%]", f"{RUL_LOW_LABEL} [h]", "Events"],
    )
    zone = _zone_name(tz, history["ts"].iloc[0] if not history.empty else events["ts"].iloc[0])
    for index, (version, group) in enumerate(history.groupby("model_version", sort=False)):
        colour = colours.series[index % len(colours.series)]
        name = f"model {version}"
        x = utc_strings(group["ts"], tz)
        fig.add_trace(
            go.Scatter(
                x=x, y=group["p_fail"], name=name, legendgroup=name,
                line={"color": colour, "width": 2},
                mode="lines+markers" if len(group) < 3 else "lines",
                hovertemplate=f"{html.escape(name)}<br>%{{x}} {zone}<br>{risk_title}"
                " %{y:.1%}<extra></extra>",
            ),
            row=1, col=1,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=x, y=group["rul_low"], name=name, legendgroup=name, showlegend=False,
                line={"color": colour, "width": 2, "dash": "dash"},
                mode="lines+markers" if len(group) < 3 else "lines",
                hovertemplate=f"{html.escape(name)}<br>%{{x}} {zone}<br>remaining life (low)"
                " %{y:.0f} h<extra></extra>",
            ),
            row=2, col=1,
        )  # fmt: skip
    lines = (
        (thresholds.warning_p_fail, colours.warning, "alert: warning", 1, "%"),
        (thresholds.critical_p_fail, colours.critical, "alert: critical", 1, "%"),
        (thresholds.warning_rul_low, colours.warning, "alert: warning", 2, "h"),
        (thresholds.critical_rul_low, colours.critical, "alert: critical", 2, "h"),
    )
    for level, colour, label, row, unit in lines:
        if level is None:
            continue
        text = f"{label} {level:.0%}" if unit == "%" else f"{label} {level:g} h"
        fig.add_hline(
            y=level, line={"color": colour, "width": 1, "dash": "dot"}, row=row, col=1,
            annotation_text=text, annotation_position="top left",
            annotation_font={"size": 11, "color": colour},
        )  # fmt: skip
    if not events.empty:
        for kind, group in events.groupby("kind", sort=False):
            hover = [
                f"<b>{html.escape(str(kind))}</b> · {html.escape(str(source))}<br>"
                f"{html.escape(_short(detail))}"
                for source, detail in zip(group["source"], group["detail"], strict=True)
            ]
            fig.add_trace(
                go.Scatter(
                    x=utc_strings(group["ts"], tz),
                    y=[kind] * len(group),
                    mode="markers",
                    name=str(kind),
                    marker={
                        "symbol": EVENT_SYMBOLS.get(str(kind), "circle"),
                        "size": 11,
                        "color": _event_colour(str(kind), colours),
                        "line": {"width": 1.5, "color": colours.text},
                    },
                    text=hover,
                    hovertemplate=f"%{{x}} {zone}<br>%{{text}}<extra></extra>",
                    showlegend=False,
                ),
                row=3,
                col=1,
            )
        present = [k for k in EVENT_ORDER if k in set(events["kind"])]
        fig.update_yaxes(categoryorder="array", categoryarray=present, row=3, col=1)
    fig.update_yaxes(range=[0, 1], tickformat=".0%", row=1, col=1)
    fig.update_yaxes(rangemode="tozero", ticksuffix=" h", row=2, col=1)
    if window is not None:
        fig.update_xaxes(range=list(utc_strings(pd.Series(list(window)), tz)))
    fig.update_xaxes(title_text=f"plant time ({zone})", row=3, col=1)
    fig.update_annotations(font={"size": 12, "color": colours.muted})
    fig.update_layout(legend={"orientation": "h", "y": -0.14, "yanchor": "top", "x": 0},
                      hovermode="closest", margin={"t": 40, "b": 70})  # fmt: skip
    return _base(fig, 480, look)


def _event_colour(kind: str, colours: theme.Palette) -> str:
    return {
        "failure": colours.critical,
        "alert": colours.warning,
        "maintenance": colours.maintenance,
        "repair": colours.ok,
    }.get(kind, colours.muted)


def _short(detail: Any, limit: int = 160) -> str:
    text = "" if detail is None else str(detail)
    if text in ("{}", "None"):
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class TopFeature:
    """One risk driver of the latest score: its contribution, value and the healthy value."""

    name: str
    contribution: float
    value: float | None = None
    baseline: float | None = None
    unit: str = ""

    @property
    def label(self) -> str:
        return feature_label(self.name)


def parse_top_features(raw: Any) -> list[TopFeature]:
    """Top features from a risk score's jsonb, whatever shape the model wrote.

    Accepts a list of objects (``feature``/``name`` with ``contribution``/``shap``/
    ``importance``, and the feature's ``value``), a list of ``[name, value]`` pairs, or an
    object ``{name: value}``. Entries that cannot be read are skipped: this is for people,
    a malformed item must not blank it.
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
    parsed: list[TopFeature] = []
    for item in items:
        name: Any = None
        contribution: Any = None
        value: Any = None
        if isinstance(item, dict):
            name = next((item[k] for k in ("feature", "name") if k in item), None)
            explained = [k for k in ("contribution", "shap", "importance") if k in item]
            keys = tuple(explained) or ("value",)
            contribution = next((item[k] for k in keys if k in item), None)
            value = item.get("value") if keys[0] != "value" else None
        elif isinstance(item, list | tuple) and len(item) == 2:
            name, contribution = item
        try:
            number = float(contribution)
        except (TypeError, ValueError):
            continue
        if name is None or not math.isfinite(number):
            continue
        try:
            feature_value = None if value is None else float(value)
        except (TypeError, ValueError):
            feature_value = None
        parsed.append(TopFeature(str(name), number, feature_value))
    return sorted(parsed, key=lambda f: abs(f.contribution), reverse=True)


def with_baselines(
    features: list[TopFeature],
    baselines: dict[str, tuple[float, float]],
    units: dict[str, str],
) -> list[TopFeature]:
    """Each feature with the machine's healthy value of the same statistic, where one exists:
    the sensor's baseline mean for level statistics, its std for the spread, 0 for trends and
    deviations."""
    out = []
    for f in features:
        sensor, stat = feature_sensor_stat(f.name)
        baseline = None
        unit = units.get(sensor or "", "")
        if sensor is not None and sensor in baselines:
            mean, std = baselines[sensor]
            if stat in ("mean", "min", "max", "ewma", "last"):
                baseline = mean
            elif stat == "std":
                baseline = std
        if stat in ("slope", "dev"):
            baseline = 0.0
            unit = f"{unit}/h" if stat == "slope" and unit else ("σ" if stat == "dev" else "")
        if stat in ("count",):
            unit = ""
        out.append(TopFeature(f.name, f.contribution, f.value, baseline, unit))
    return out


def features_figure(
    top_features: list[TopFeature], limit: int = 8, look: str = "dark"
) -> go.Figure:
    """Horizontal bars: what pushes the latest score up (red) or down (grey/green), each
    labelled with the feature's value and the machine's healthy value."""
    colours = theme.palette(look)
    if not top_features:
        return empty_figure("No feature contributions in the latest score", look=look)
    shown = list(reversed(top_features[:limit]))  # largest at the top
    labels = []
    for f in shown:
        value = fmt_value(f.value, f.unit)
        healthy = f" (healthy {fmt_value(f.baseline, f.unit)})" if f.baseline is not None else ""
        labels.append(f"{f.label}<br><span style='font-size:11px'>now {value}{healthy}</span>"
                      if f.value is not None else f.label)  # fmt: skip
    fig = go.Figure(
        go.Bar(
            x=[f.contribution for f in shown],
            y=list(range(len(shown))),
            orientation="h",
            marker={
                "color": [colours.critical if f.contribution > 0 else colours.ok for f in shown]
            },
            customdata=[html.escape(f.label) for f in shown],
            hovertemplate="%{customdata}: %{x:+.3g}<extra></extra>",
        )
    )
    fig.update_layout(margin={"l": 8, "r": 16, "t": 16, "b": 40})
    fig.update_yaxes(automargin=True, tickmode="array", tickvals=list(range(len(shown))),
                     ticktext=labels)  # fmt: skip
    fig.update_xaxes(title_text="pushes risk up (+) or down (−)")
    return _base(fig, max(240, 46 * len(shown) + 70), look)
