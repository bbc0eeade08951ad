"""Small pieces every page uses: links, the refresh stamp, and human formatting of values."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pandas as pd
from dash import html

from millwright.core.clock import PlantClock


def machine_href(base_path: str, name: str) -> str:
    return f"{base_path}machine/{quote(name, safe='')}"


def stamp(page: str, now: datetime) -> html.Div:
    """A hidden marker whose ``data-updated`` changes on every successful refresh.

    `assets/live.js` watches it: when it stops changing for longer than the stale limit (the
    database is down, the server is gone) the page is marked stale without a reload. The
    refresh itself is timed by the wall clock (a data clock stands still when no data
    arrives, yet the page is live); ``data-plant-now`` is the plant clock's now.
    """
    return html.Div(
        id=f"{page}-stamp-inner",
        className="stamp",
        **{"data-updated": datetime.now(UTC).isoformat(), "data-plant-now": now.isoformat()},  # type: ignore[arg-type]
    )


def missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_pct(value: Any) -> str:
    return "—" if missing(value) else f"{float(value):.0%}"


def fmt_hours(value: Any) -> str:
    if missing(value):
        return "—"
    hours = float(value)
    if math.isinf(hours):
        return "∞"
    # Always hours (the charts' unit), with days alongside once they read better.
    return f"{hours:.0f} h ({hours / 24:.0f} d)" if hours >= 72 else f"{hours:.0f} h"


def fmt_ts(value: Any, clock: PlantClock | None = None) -> str:
    """A time as people on the plant floor read it: in the plant's zone, with its name."""
    if missing(value):
        return "—"
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    if clock is None:
        return ts.tz_convert("UTC").strftime("%d %b %H:%M UTC")
    return clock.label(ts.to_pydatetime())


def utc_text(value: Any) -> str:
    if missing(value):
        return ""
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%d %H:%M:%S UTC")


def when(value: Any, clock: PlantClock | None, **props: Any) -> html.Span:
    """A time in plant time, with UTC in its tooltip."""
    return html.Span(fmt_ts(value, clock), title=utc_text(value), className="when", **props)


def age(value: Any, now: datetime) -> timedelta | None:
    if missing(value):
        return None
    return now - pd.Timestamp(value).to_pydatetime()


def fmt_age(delta: timedelta | None) -> str:
    if delta is None:
        return "never"
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 90:
        return f"{seconds} s ago"
    if seconds < 90 * 60:
        return f"{seconds // 60} min ago"
    if seconds < 48 * 3600:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"
