"""Small pieces every page uses: links, the refresh stamp, and human formatting of values."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pandas as pd
from dash import html


def machine_href(base_path: str, name: str) -> str:
    return f"{base_path}machine/{quote(name, safe='')}"


def stamp(page: str, now: datetime) -> html.Div:
    """A hidden marker whose ``data-updated`` changes on every successful refresh.

    `assets/live.js` watches it: when it stops changing for longer than the stale limit (the
    database is down, the server is gone) the page is marked stale without a reload.
    """
    return html.Div(
        id=f"{page}-stamp-inner",
        className="stamp",
        **{"data-updated": now.isoformat()},  # type: ignore[arg-type]
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
    return f"{hours / 24:.1f} d" if hours >= 72 else f"{hours:.0f} h"


def fmt_ts(value: Any) -> str:
    if missing(value):
        return "—"
    return pd.Timestamp(value).tz_convert("UTC").strftime("%d %b %H:%M UTC")


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
