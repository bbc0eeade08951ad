"""What every callback needs, built once by `create_dashboard` and passed down (no globals)."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.config import DashboardConfig
from millwright.core.clock import PlantClock
from millwright.core.settings import CoreSettings
from millwright.core.storage.database import Database


@dataclass(frozen=True)
class DashboardContext:
    settings: CoreSettings
    database: Database
    clock: PlantClock

    @classmethod
    def build(cls, settings: CoreSettings, database: Database) -> DashboardContext:
        """The context with the one plant clock (`CoreSettings.plant_clock`)."""
        return cls(settings=settings, database=database, clock=settings.plant_clock(database))

    @property
    def config(self) -> DashboardConfig:
        return self.settings.section("dashboard", DashboardConfig)

    @property
    def base_path(self) -> str:
        return self.config.base_path
