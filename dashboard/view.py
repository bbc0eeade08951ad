"""What the URL's query says about a view: time range, refresh, kiosk, theme, tile order.

Everything a person sets on a screen lives in the URL, so a link or a wall screen's bookmark
shows the same view: ``?range=7d`` or ``?from=2026-03-02T06:00&to=2026-03-02T18:00`` (plant
local time), ``refresh=30`` (seconds; ``0`` pauses), ``kiosk=1&rotate=30`` (wall screen:
no navigation, large type, next page every 30 s), ``theme=hp`` (ISA-101 high-performance:
neutral greys, colour only for abnormal), ``sort=risk|status|name`` and ``line=Line A``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo
from urllib.parse import parse_qs, urlencode

from dashboard.downsample import RANGES, parse_range

REFRESH_CHOICES = (5, 10, 30, 60, 300, 0)  # seconds; 0 = paused
ROTATE_DEFAULT_S = 30
KIOSK_PAGES = ("", "schedule", "alerts")
THEMES = ("dark", "hp")
SORTS = ("line", "risk", "status", "name")
LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True)
class TimeRange:
    """A window ``[start, end)`` in UTC and how people name it."""

    start: datetime
    end: datetime
    label: str  # "24h", or "custom"
    live: bool  # ends at "now" (moves with the clock)

    @property
    def span(self) -> timedelta:
        return self.end - self.start


@dataclass(frozen=True)
class ViewOptions:
    range_label: str = "24h"
    start_local: str | None = None  # datetime-local text in the plant's zone
    end_local: str | None = None
    refresh_s: int | None = None  # None: the configured default
    kiosk: bool = False
    rotate_s: int = ROTATE_DEFAULT_S
    theme: str = "dark"
    sort: str = "line"
    line: str | None = None
    status: str | None = None

    @property
    def custom(self) -> bool:
        return self.start_local is not None and self.end_local is not None

    def time_range(self, now: datetime, tz: tzinfo, *, slack: timedelta) -> TimeRange:
        """The window this view shows at ``now``; a custom window is fixed, a preset moves."""
        if self.custom:
            assert self.start_local is not None and self.end_local is not None
            start = _local(self.start_local, tz)
            end = _local(self.end_local, tz)
            if start is not None and end is not None and end > start:
                return TimeRange(start, end, "custom", live=False)
        label, span = parse_range(self.range_label)
        return TimeRange(now - span, now + slack, label, live=True)

    def query(self, **changes: object) -> str:
        """This view's query string (``?...``) with ``changes`` applied; defaults left out."""
        view = replace(self, **changes)  # type: ignore[arg-type]
        pairs: list[tuple[str, str]] = []
        if view.custom:
            pairs += [("from", view.start_local or ""), ("to", view.end_local or "")]
        elif view.range_label != "24h":
            pairs.append(("range", view.range_label))
        if view.refresh_s is not None:
            pairs.append(("refresh", str(view.refresh_s)))
        if view.kiosk:
            pairs.append(("kiosk", "1"))
            if view.rotate_s != ROTATE_DEFAULT_S:
                pairs.append(("rotate", str(view.rotate_s)))
        if view.theme != "dark":
            pairs.append(("theme", view.theme))
        if view.sort != "line":
            pairs.append(("sort", view.sort))
        if view.line:
            pairs.append(("line", view.line))
        if view.status:
            pairs.append(("status", view.status))
        return ("?" + urlencode(pairs)) if pairs else ""


def normalise_local(text: str | None) -> str | None:
    """``2026-03-02 06:00`` or ``2026-03-02T06:00`` as the latter; None when unreadable."""
    if not text:
        return None
    candidate = text.strip()[:16].replace(" ", "T")
    try:
        datetime.strptime(candidate, LOCAL_FORMAT)
    except ValueError:
        return None
    return candidate


def _local(text: str, tz: tzinfo) -> datetime | None:
    try:
        naive = datetime.strptime(text[:16].replace(" ", "T"), LOCAL_FORMAT)
    except ValueError:
        return None
    return naive.replace(tzinfo=tz)


def _int(values: dict[str, list[str]], key: str) -> int | None:
    try:
        return int(values[key][0])
    except (KeyError, IndexError, ValueError):
        return None


def parse_view(search: str | None) -> ViewOptions:
    """The view a query string asks for; anything unreadable falls back to its default."""
    q = parse_qs((search or "").lstrip("?"))

    def one(key: str) -> str | None:
        values = q.get(key)
        return values[0] if values else None

    label = one("range")
    refresh = _int(q, "refresh")
    rotate = _int(q, "rotate")
    start, end = normalise_local(one("from")), normalise_local(one("to"))
    custom = start is not None and end is not None and end > start
    return ViewOptions(
        range_label=label if label in RANGES else "24h",
        start_local=start if custom else None,
        end_local=end if custom else None,
        refresh_s=refresh if refresh is not None and 0 <= refresh <= 3600 else None,
        kiosk=one("kiosk") in ("1", "true", "yes"),
        rotate_s=rotate if rotate is not None and 5 <= rotate <= 3600 else ROTATE_DEFAULT_S,
        theme=one("theme") if one("theme") in THEMES else "dark",  # type: ignore[arg-type]
        sort=one("sort") if one("sort") in SORTS else "line",  # type: ignore[arg-type]
        line=one("line") or None,
        status=one("status") or None,
    )
