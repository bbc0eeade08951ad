"""What every callback needs, built once by `create_dashboard` and passed down (no globals)."""

from __future__ import annotations

from dataclasses import dataclass

from dashboard.config import DashboardConfig
from millwright.core.settings import CoreSettings
from millwright.core.storage.database import Database


@dataclass(frozen=True)
class DashboardContext:
    settings: CoreSettings
    database: Database

    @property
    def config(self) -> DashboardConfig:
        return self.settings.section("dashboard", DashboardConfig)

    @property
    def base_path(self) -> str:
        return self.config.base_path
