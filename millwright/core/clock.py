"""The plant clock: what "now" is for the whole product, and the time zone people read.

A live plant runs on the wall clock. A replayed or accelerated plant (the demo, a backfill)
runs on its data: "now" is the newest reading, which may be days ahead of or behind the wall
clock. Everything that asks "now" (the dashboard's ranges and "now" lines, the API, alert
evaluation, the scheduler's plan origin) asks one `PlantClock`, built once from the settings
(``worker.clock`` and ``plant_timezone``) and passed down.

Times are stored and computed in UTC; `PlantClock.local` turns one into the plant's time
zone for people, and `PlantClock.label` writes it with its zone abbreviation.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from millwright.core.storage.database import Database

ClockMode = Literal["wall", "data"]

# The newest reading of any sensor, one backwards index scan per sensor.
_NEWEST_READING = (
    "SELECT max(l.ts) FROM sensors s CROSS JOIN LATERAL ("
    " SELECT ts FROM readings r WHERE r.machine_id = s.machine_id AND r.sensor_id = s.id"
    " ORDER BY ts DESC LIMIT 1) l"
)


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (e.g. ``Europe/Berlin``), or a ValueError saying what is expected."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; expected an IANA name such as UTC or Europe/Berlin"
        ) from None


@dataclass
class PlantClock:
    """The plant's "now" (wall or data clock) and its time zone.

    ``cache_s`` keeps a data-clock reading for that long (wall seconds), so a page that asks
    several times while rendering asks the database once.
    """

    mode: ClockMode = "wall"
    timezone: str = "UTC"
    database: Database | None = None
    cache_s: float = 1.0
    _cached: tuple[float, datetime] | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.mode not in ("wall", "data"):
            raise ValueError(f"a plant clock is 'wall' or 'data', got {self.mode!r}.")
        if self.mode == "data" and self.database is None:
            raise ValueError("a data clock needs the database whose readings it follows.")
        self._zone = time_zone(self.timezone)

    @property
    def tz(self) -> tzinfo:
        return self._zone

    def now(self) -> datetime:
        """The plant's now, tz-aware UTC: the newest reading for a data clock (the wall
        clock while there is none)."""
        if self.mode == "wall":
            return datetime.now(UTC)
        with self._lock:
            cached = self._cached
            if cached is not None and time.monotonic() - cached[0] < self.cache_s:
                return cached[1]
        assert self.database is not None
        rows = self.database.execute(_NEWEST_READING)
        newest = rows[0][0] if rows and rows[0][0] is not None else None
        value = newest.astimezone(UTC) if newest is not None else datetime.now(UTC)
        with self._lock:
            self._cached = (time.monotonic(), value)
        return value

    def local(self, ts: datetime) -> datetime:
        """``ts`` in the plant's time zone (naive values are taken as UTC)."""
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        return ts.astimezone(self._zone)

    def label(self, ts: datetime, fmt: str = "%d %b %H:%M") -> str:
        """``ts`` as people read it on the plant floor, with the zone's abbreviation."""
        local = self.local(ts)
        return f"{local.strftime(fmt)} {local.tzname() or self.timezone}"


def wall_clock(timezone: str = "UTC") -> PlantClock:
    """A wall clock in ``timezone`` (tests, tools without a database)."""
    return PlantClock("wall", timezone)
