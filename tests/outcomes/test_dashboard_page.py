"""The Outcomes page in headless Chromium, on a plant seeded ten days back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard import create_dashboard
from millwright.core.storage import Database
from tests.dashboard.browser import chromium, serve_wsgi
from tests.dashboard.conftest import make_settings
from tests.outcomes.test_report import _seed

pytestmark = pytest.mark.browser


@pytest.fixture
def served(database: Database, database_url: str) -> Iterator[str]:
    _seed(database, datetime.now(UTC).replace(microsecond=0) - timedelta(days=10))
    app = create_dashboard(make_settings(database_url, require_login="false"), database)
    with serve_wsgi(app.server) as url:
        yield url


def test_outcomes_page_shows_figures_failures_and_the_counterfactual(served: str) -> None:
    with chromium() as driver:
        driver.get(f"{served}/outcomes")
        WebDriverWait(driver, 30, ignored_exceptions=(StaleElementReferenceException,)).until(
            lambda d: d.find_elements(By.ID, "outcomes-counterfactual-table")
        )
        tiles = driver.find_element(By.ID, "outcomes-tiles").text
        assert "Failures\n4" in tiles
        assert "Alerted in time\n25.0%" in tiles
        failures = driver.find_element(By.ID, "outcomes-failure-table").text
        assert failures.count("missed") == 3
        assert (
            "Reactive: run to failure" in driver.find_element(By.ID, "outcomes-counterfactual").text
        )
        assert driver.find_elements(By.CSS_SELECTOR, "#outcomes-trend .main-svg")
        assert driver.find_element(By.ID, "nav-outcomes").text == "Outcomes"
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe
