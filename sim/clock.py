"""The simulation clock: maps plant time onto wall time at a chosen speed.

``speed`` is plant seconds per wall second (3600: one plant hour per second). ``inf`` runs as
fast as the sinks allow. The wall clock and the sleep are injectable so tests need not wait.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from sim.records import require_utc


class SimClock:
    """Paces plant time against a monotonic wall clock, anchored when the clock starts."""

    def __init__(
        self,
        start: datetime,
        speed: float,
        *,
        wall: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        require_utc(start, "clock start")
        if not speed > 0:
            raise ValueError(f"speed must be positive (plant seconds per wall second), got {speed}")
        self.start = start
        self.speed = speed
        self._wall = wall
        self._sleep = sleep
        self._anchor = wall()

    def restart(self) -> None:
        """Re-anchor wall time now (call when the run really begins)."""
        self._anchor = self._wall()

    def wall_deadline(self, plant_time: datetime) -> float:
        """The wall-clock reading at which ``plant_time`` is due."""
        if math.isinf(self.speed):
            return self._anchor
        return self._anchor + (plant_time - self.start).total_seconds() / self.speed

    def lag(self, plant_time: datetime) -> float:
        """Wall seconds by which ``plant_time`` is overdue (negative: still ahead)."""
        return self._wall() - self.wall_deadline(plant_time)

    async def sleep_until(self, plant_time: datetime) -> None:
        """Wait until ``plant_time`` is due; returns at once when the run is behind."""
        delay = -self.lag(plant_time)
        if delay > 0:
            await self._sleep(delay)
