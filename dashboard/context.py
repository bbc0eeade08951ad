"""What every callback needs, built once by `create_dashboard` and passed down (no globals)."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.config import DashboardConfig
from millwright.app.settings import Settings
from millwright.core.clock import PlantClock
from millwright.core.storage.database import Database


@dataclass(frozen=True)
class DashboardContext:
    settings: Settings
    database: Database
    clock: PlantClock

    @classmethod
    def build(cls, settings: Settings, database: Database) -> DashboardContext:
        """The context with the one plant clock (`Settings.plant_clock`)."""
        return cls(settings=settings, database=database, clock=settings.plant_clock(database))

    @property
    def config(self) -> DashboardConfig:
        return self.settings.dashboard

    @property
    def base_path(self) -> str:
        return self.settings.dashboard.base_path
