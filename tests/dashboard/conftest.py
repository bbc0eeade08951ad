"""Fixtures of the dashboard tests: settings, a seeded plant, and the app on that plant."""

from __future__ import annotations

import dash
import pytest

from dashboard.app import create_dashboard
from dashboard.config import DashboardConfig
from dashboard.context import DashboardContext
from millwright.app.settings import Settings
from millwright.core.storage.database import Database
from tests.dashboard.plant import Plant, seed_plant, seed_users

SECRET = "test-secret-key-0123456789abcdef"


def make_settings(database_url: str, **dashboard: object) -> Settings:
    config = DashboardConfig(secret_key=SECRET, **dashboard)  # type: ignore[arg-type]
    return Settings(database_url=database_url, dashboard=config)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, require_login="true")


@pytest.fixture
def plant(database: Database) -> Plant:
    return seed_plant(database)


@pytest.fixture
def context(settings: Settings, database: Database) -> DashboardContext:
    return DashboardContext.build(settings, database)


@pytest.fixture
def app(settings: Settings, database: Database) -> dash.Dash:
    return create_dashboard(settings, database)


@pytest.fixture
def users(database: Database) -> None:
    """viewer, planner and fixer (maintenance), all with `tests.dashboard.plant.PASSWORD`."""
    seed_users(database)
