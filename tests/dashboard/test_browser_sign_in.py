"""Sign-in throttling as a person meets it, in headless Chromium (issue #17, item 1).

Five wrong passwords get the generic refusal; the sixth attempt, and the right password
straight after, are told to wait; once an admin lifts the lockout the right password signs in.
A page opened with the cookie of a signed-out session gets the sign-in page.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By

from dashboard.app import create_dashboard
from millwright.core.storage.database import Database
from millwright.core.users import UserStore
from tests.dashboard.browser import chromium, serve_wsgi
from tests.dashboard.conftest import make_settings
from tests.dashboard.plant import PASSWORD, Plant
from tests.dashboard.test_browser import wait

pytestmark = pytest.mark.browser


@pytest.fixture
def served(database_url: str, database: Database, plant: Plant, users: None) -> Iterator[str]:
    settings = make_settings(database_url, require_login="true", login_base_delay_s=60)
    with serve_wsgi(create_dashboard(settings, database).server) as url:
        yield url


def _attempt(driver: Chrome, url: str, password: str) -> str:
    driver.get(f"{url}/login")
    driver.find_element(By.ID, "username").send_keys("planner")
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".login-error, #user-name"))
    errors = driver.find_elements(By.CSS_SELECTOR, ".login-error")
    return errors[0].text if errors else "signed in"


def test_throttled_sign_in_in_the_browser(served: str, database: Database) -> None:
    with chromium() as driver:
        messages = [_attempt(driver, served, f"wrong-{i}") for i in range(6)]
        assert messages[:5] == ["Unknown user or wrong password."] * 5
        assert re.fullmatch(
            r"Too many failed sign-ins; wait (59|60) s and try again\.", messages[5]
        )
        assert _attempt(driver, served, PASSWORD).startswith("Too many failed sign-ins")

        assert UserStore(database).unlock("planner")
        assert _attempt(driver, served, PASSWORD) == "signed in"
        cookie = driver.get_cookie("millwright_dashboard")
        assert cookie is not None
        driver.find_element(By.CSS_SELECTOR, ".user-box form button").click()  # Sign out
        wait(driver, lambda d: d.find_elements(By.ID, "login-form"))

    with chromium() as replay:  # another browser, with the captured cookie
        replay.get(f"{served}/login")
        replay.add_cookie({"name": cookie["name"], "value": cookie["value"], "path": "/"})
        replay.get(f"{served}/schedule")
        wait(replay, lambda d: d.find_elements(By.ID, "login-form"))
        assert "/login" in replay.current_url
