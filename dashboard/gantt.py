"""The plan as a Gantt a planner can work with: pure, DataFrames in, one Plotly figure out.

- A row for every machine, grouped by line (a machine with no work still has its row, so
  rows do not come and go between plans), its status next to its name.
- Closed windows (planned downtime, shift gaps) and a machine that is down or in maintenance
  are shaded, hatched, with the reason on hover.
- Maintenance bars say their cause in words ("Risk: life ≤ 12 h").
- Operations moved since the previous plan (another machine, or a start shifted by a minute
  or more) are outlined and marked ↻.
- A bar carries its order in ``customdata``: a click opens the order's detail.
- The "now" line is the plant clock; times are the plant's wall time.
- ``uirevision`` is constant, so zoom and pan survive every refresh and every new plan.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard import theme
from dashboard.figures import _zone_name, empty_figure, utc_strings
from dashboard.words import fmt_duration, maintenance_cause, reason_words

ROW_PX = 38
MOVED_MARK = "↻ "
UIREVISION = "gantt"


@dataclass(frozen=True)
class Moves:
    """Which operations moved since the previous plan (by operation id)."""

    moved: frozenset[int]
    previous_id: int | None

    @property
    def count(self) -> int:
        return len(self.moved)


def moved_operations(
    current: pd.DataFrame, previous: pd.DataFrame | None, previous_id: int | None
) -> Moves:
    """Operations planned in both plans whose machine changed or whose start moved ≥ 1 min."""
    if previous is None or previous.empty or current.empty:
        return Moves(frozenset(), previous_id)
    cur = current[current["kind"] == "operation"].set_index("operation_id")
    old = previous[previous["kind"] == "operation"].set_index("operation_id")
    both = cur.index.intersection(old.index)
    moved = set()
    for op in both:
        a, b = cur.loc[op], old.loc[op]
        shift = abs(pd.Timestamp(a["start_at"]) - pd.Timestamp(b["start_at"]))
        if a["machine"] != b["machine"] or shift >= pd.Timedelta(minutes=1):
            moved.add(int(op))
    return Moves(frozenset(moved), previous_id)


def _label(ts: Any, tz: tzinfo | None) -> str:
    stamp = pd.Timestamp(ts)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    local = stamp.tz_convert(tz) if tz is not None else stamp.tz_convert("UTC")
    return f"{local:%a %d %b %H:%M}"


def _operation_hover(row: Any, tz: tzinfo | None, moved: bool) -> str:
    lines = [
        f"<b>{html.escape(str(row.job))}</b> · step {row.seq} {html.escape(str(row.operation))}"
    ]
    lines.append(f"{_label(row.start_at, tz)} → {_label(row.end_at, tz)} on {row.machine}")
    lines.append(f"due {_label(row.due_at, tz)}")
    if row.late:
        lines.append(f"<b>LATE by {fmt_duration(row.lateness_min * 60)}</b>")
    if moved:
        lines.append("<b>moved since the previous plan</b>")
    why = reason_words(row.reason)
    if why:
        lines.append(html.escape(why))
    lines.append("<i>click for the order</i>")
    return "<br>".join(lines)


def _maintenance_hover(reason: Any, tz: tzinfo | None) -> str:
    reason = reason if isinstance(reason, dict) else {}
    lines = [f"<b>Maintenance</b> · {html.escape(maintenance_cause(reason))}"]
    why = reason_words(reason)
    if why:
        lines.append(html.escape(why))
    risk = reason.get("risk") or {}
    if risk.get("model_version"):
        lines.append(f"model {html.escape(str(risk['model_version']))}")
    if reason.get("deadline_at"):
        lines.append(f"must finish by {_label(reason['deadline_at'], tz)}")
    return "<br>".join(lines)


def gantt_figure(
    assignments: pd.DataFrame,
    machines: pd.DataFrame,
    now: datetime,
    *,
    tz: tzinfo | None = None,
    downtime: pd.DataFrame | None = None,
    moves: Moves | None = None,
    look: str = "dark",
) -> go.Figure:
    """The plan on every machine's row; see the module docstring for what it shows."""
    colours = theme.palette(look)
    if machines.empty:
        return empty_figure("No machines registered yet", look=look)
    moves = moves or Moves(frozenset(), None)
    order = list(machines["name"])
    row_of = {name: i for i, name in enumerate(order)}
    status = dict(zip(machines["name"], machines["status"], strict=True))
    zone = _zone_name(tz, now)
    fig = go.Figure()

    # Closed and down windows first, so work draws over them.
    spans: list[tuple[str, Any, Any, str]] = []
    plan_end = pd.to_datetime(assignments["end_at"], utc=True).max() if len(assignments) else None
    shade_end = max(pd.Timestamp(now) + pd.Timedelta(hours=1), plan_end or pd.Timestamp(now))
    for row in machines.itertuples(index=False):
        if row.status in ("down", "maintenance", "offline") and not pd.isna(row.status_since):
            word = {"down": "DOWN", "maintenance": "in maintenance", "offline": "offline"}
            spans.append((row.name, row.status_since, shade_end,
                          f"{word[row.status]} since {_label(row.status_since, tz)}"))  # fmt: skip
    if downtime is not None:
        for row in downtime.itertuples(index=False):
            spans.append((row.machine, row.start_at, row.end_at,
                          f"closed {_label(row.start_at, tz)} → {_label(row.end_at, tz)}"
                          + (f": {row.reason}" if row.reason else "")))  # fmt: skip
    spans = [s for s in spans if s[0] in row_of]
    if spans:
        starts = pd.to_datetime(pd.Series([s[1] for s in spans]), utc=True)
        ends = pd.to_datetime(pd.Series([s[2] for s in spans]), utc=True)
        fig.add_trace(
            go.Bar(
                name="Closed / down",
                y=[row_of[s[0]] for s in spans],
                base=utc_strings(starts, tz),
                x=((ends - starts).dt.total_seconds() * 1000).tolist(),
                orientation="h",
                width=0.9,
                hovertext=[html.escape(s[3]) for s in spans],
                hovertemplate="%{hovertext}<extra></extra>",
                customdata=[""] * len(spans),
                marker={
                    "color": _rgba(colours.muted, 0.25),
                    "line": {"width": 0},
                    "pattern": {
                        "shape": "x",
                        "fgcolor": _rgba(colours.muted, 0.6),
                        "size": 8,
                        "solidity": 0.15,
                    },
                },
            )
        )

    if not assignments.empty:
        start = pd.to_datetime(assignments["start_at"], utc=True)
        end = pd.to_datetime(assignments["end_at"], utc=True)
        frame = assignments.assign(
            start_at=start, end_at=end, duration_ms=(end - start).dt.total_seconds() * 1000
        )
        frame = frame[frame["machine"].isin(row_of)]
        span_ms = max(1.0, (end.max() - start.min()).total_seconds() * 1000)
        ops = frame["kind"] == "operation"
        groups = (
            ("Production", frame[ops & ~frame["late"]], colours.production),
            ("Late order", frame[ops & frame["late"]], colours.critical),
            ("Maintenance", frame[frame["kind"] == "maintenance"], colours.maintenance),
        )
        for name, group, colour in groups:
            if group.empty:
                continue
            is_moved = [
                name != "Maintenance" and not pd.isna(op) and int(op) in moves.moved
                for op in group["operation_id"]
            ]
            if name == "Maintenance":
                hover = [_maintenance_hover(r, tz) for r in group["reason"]]
                labels = [maintenance_cause(r) for r in group["reason"]]
                custom = [""] * len(group)
            else:
                hover = [_operation_hover(r, tz, m) for r, m in
                         zip(group.itertuples(), is_moved, strict=True)]  # fmt: skip
                labels = [(MOVED_MARK if m else "") + str(j)
                          for j, m in zip(group["job"], is_moved, strict=True)]  # fmt: skip
                custom = [str(j) for j in group["job"]]
            short = (group["duration_ms"] / span_ms < 0.06).tolist()
            fig.add_trace(
                go.Bar(
                    name=name,
                    y=[row_of[m] for m in group["machine"]],
                    base=utc_strings(group["start_at"], tz),
                    x=group["duration_ms"].tolist(),
                    orientation="h",
                    width=0.7,
                    text=labels,
                    textposition=["outside" if s else "inside" for s in short],
                    insidetextanchor="middle",
                    cliponaxis=False,
                    textfont={"color": [colours.text if s else "#ffffff" for s in short]},
                    customdata=custom,
                    hovertext=hover,
                    hovertemplate="%{hovertext}<extra></extra>",
                    marker={
                        "color": colour,
                        "line": {
                            "color": [colours.accent if m else colours.panel for m in is_moved],
                            "width": [3 if m else 1 for m in is_moved],
                        },
                    },
                )
            )

    # Line groups: a label and a rule above each line's first machine.
    lines = list(dict.fromkeys(machines["line"]))
    shapes: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for line in lines:
        first = min(row_of[m] for m in machines.loc[machines["line"] == line, "name"])
        if first > 0:
            shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y",
                           "y0": first - 0.5, "y1": first - 0.5,
                           "line": {"color": colours.muted, "width": 1}})  # fmt: skip
        annotations.append({"xref": "paper", "x": 0, "xanchor": "left", "yref": "y",
                            "y": first - 0.5, "yanchor": "bottom", "showarrow": False,
                            "text": f"<b>{html.escape((line or 'Unassigned').upper())}</b>",
                            "font": {"size": 11, "color": colours.muted}})  # fmt: skip
    now_text = utc_strings(pd.Series([now]), tz)[0]
    shapes.append({"type": "line", "xref": "x", "x0": now_text, "x1": now_text, "yref": "paper",
                   "y0": 0, "y1": 1, "line": {"color": colours.accent, "width": 2,
                                              "dash": "dash"}})  # fmt: skip
    annotations.append({"xref": "x", "x": now_text, "yref": "paper", "y": 1, "yanchor": "bottom",
                        "showarrow": False, "text": f"now {_label(now, tz)[4:]} {zone}",
                        "font": {"color": colours.accent, "size": 12}})  # fmt: skip
    words = {"down": " · DOWN", "maintenance": " · maint.", "offline": " · offline"}
    ticks = [f"{m}{words.get(status[m], '')}" for m in order]
    fig.update_layout(
        barmode="overlay",
        shapes=shapes,
        annotations=annotations,
        legend={"orientation": "h", "y": -0.02, "yanchor": "top", "x": 0, "xanchor": "left"},
        hovermode="closest",
        margin={"l": 150, "r": 40, "t": 64, "b": 60},
        clickmode="event",
    )
    fig.update_xaxes(type="date", side="top")
    fig.update_yaxes(tickmode="array", tickvals=list(range(len(order))), ticktext=ticks,
                     autorange="reversed", range=None, zeroline=False,
                     showgrid=False)  # fmt: skip
    fig.update_layout(
        template=theme.plotly_template(look),
        height=max(260, ROW_PX * len(order) + 150),
        autosize=True,
        uirevision=UIREVISION,
    )
    return fig


def _rgba(hex_colour: str, alpha: float) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
