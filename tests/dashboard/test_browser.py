"""End to end in headless Chromium: sign-in, every page on the seeded plant, roles, load times.

Screenshots go to ``artifacts/screenshots/`` (git-ignored); the overview also refreshes
``docs/dashboard.png`` for the README. Load times are printed, not asserted: they depend on
the machine running the suite.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from dashboard.app import create_dashboard
from millwright.app.settings import Settings
from millwright.core.storage.database import Database
from tests.dashboard.browser import chromium, serve_wsgi
from tests.dashboard.plant import MACHINES, PASSWORD, Plant, write_week_of_minutes

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
README_SHOT = ROOT / "docs" / "dashboard.png"
WAIT_S = 20


@pytest.fixture
def served(settings: Settings, database: Database, plant: Plant, users: None) -> Iterator[str]:
    app = create_dashboard(settings, database)
    with serve_wsgi(app.server) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Chrome]:
    with chromium() as driver:
        yield driver


def wait(driver: Chrome, condition: Any, timeout: float = WAIT_S) -> Any:
    # Refreshes replace elements under our feet: a stale element means "look again".
    return WebDriverWait(
        driver, timeout, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,)
    ).until(condition)


def wait_for_page(driver: Chrome, page: str) -> None:
    """Until the page's refresh callback has delivered data (its stamp is in the DOM)."""
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f"#{page}-stamp [data-updated]"))


def screenshot(driver: Chrome, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def severe(driver: Chrome) -> list[dict[str, Any]]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def sign_in(driver: Chrome, url: str, username: str) -> None:
    driver.get(f"{url}/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver, lambda d: d.find_elements(By.ID, "user-name"))


def page_text(driver: Chrome) -> str:
    return str(driver.find_element(By.TAG_NAME, "body").text)


def trends_width(driver: Chrome) -> float:
    return float(
        driver.execute_script(
            "return document.querySelector('#machine-trends .main-svg')"
            ".getBoundingClientRect().width"
        )
    )


def post_callback(driver: Chrome, url: str, payload: dict[str, Any]) -> dict[str, Any]:
    """POST a Dash callback from the page, with the browser's own session cookie."""
    script = """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {method: "POST", headers: {"Content-Type": "application/json"},
                             body: arguments[1]})
          .then(r => r.text().then(t => done({status: r.status, body: t})))
          .catch(e => done({status: -1, body: String(e)}));
    """
    result = driver.execute_async_script(
        script, f"{url}/_dash-update-component", json.dumps(payload)
    )
    return dict(result)


def test_a_signed_out_visitor_sees_only_the_sign_in_page(served: str, browser: Chrome) -> None:
    for path in ("/", "/schedule", "/alerts", "/machine/press-01"):
        browser.get(served + path)
        assert "/login" in browser.current_url
        assert browser.find_elements(By.ID, "login-form")
        source = browser.page_source  # (the asked-for path is echoed in the form's "next")
        assert not any(word in source for word in ("press-02", "Line A", "J-101", "risk"))
    screenshot(browser, "sign-in")
    assert severe(browser) == []
    browser.set_script_timeout(10)
    status = browser.execute_async_script(
        "const done = arguments[0]; fetch('/_dash-layout').then(r => done(r.status));"
    )
    assert status == 401  # the app's data endpoints refuse the visitor too


def test_every_page_renders_the_seeded_plant(
    served: str, browser: Chrome, database: Database
) -> None:
    browser.set_script_timeout(10)
    sign_in(browser, served, "planner")
    wait_for_page(browser, "overview")
    text = page_text(browser)
    for name, line, *_ in MACHINES:
        assert name in text and line.upper() in text
    time.sleep(1.2)  # let live.js mark the page LIVE before the picture
    shot = screenshot(browser, "overview")
    if os.environ.get("MILLWRIGHT_UPDATE_README_SHOT"):  # refresh docs/dashboard.png on demand
        README_SHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, README_SHOT)

    browser.find_element(By.CSS_SELECTOR, '[data-machine="press-01"]').click()
    wait_for_page(browser, "machine")
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#machine-trends .main-svg"))
    assert browser.find_element(By.ID, "machine-title").text == "press-01"
    assert "85%" in browser.find_element(By.ID, "machine-header").text
    wait(browser, lambda d: "vibration · spread" in d.find_element(By.ID, "machine-features").text)
    screenshot(browser, "machine")
    # The charts are drawn to fit their panels, not watched (dcc.Graph responsive=False):
    # assets/live.js fits them again when the window changes size.
    before = trends_width(browser)
    browser.set_window_size(1200, 1000)
    wait(browser, lambda d: trends_width(d) < before - 200)
    browser.set_window_size(1600, 1000)

    browser.find_element(By.ID, "nav-schedule").click()
    wait_for_page(browser, "schedule")
    wait(browser, lambda d: "J-101" in d.find_element(By.ID, "schedule-gantt").text)
    assert "J-101" in browser.find_element(By.ID, "late-jobs-table").text
    assert "Risk: life ≤ 12 h" in browser.find_element(By.ID, "schedule-gantt").text
    screenshot(browser, "schedule")
    browser.find_element(By.ID, "reschedule-button").click()
    wait(browser, lambda d: "queued" in d.find_element(By.ID, "reschedule-message").text)
    assert database.execute("SELECT requested_by FROM schedules WHERE state = 'requested'") == [
        ("planner",)
    ]

    browser.find_element(By.ID, "nav-alerts").click()
    wait_for_page(browser, "alerts")
    # one script reads the rows: a refresh may replace the table between separate reads
    machines = browser.execute_script(
        "return [...document.querySelectorAll('#alerts-journal-table tbody tr')]"
        ".map(r => r.cells[1] ? r.cells[1].innerText : '')"
    )
    assert machines == ["press-01", "mill-05", "press-02"]
    screenshot(browser, "alerts")

    def ack_first_row(d: Chrome) -> bool:
        # a refresh may replace the table between finding the row and clicking: look again
        d.find_element(By.CSS_SELECTOR, "#alerts-journal-table tbody tr button").click()
        return True

    wait(browser, ack_first_row)
    wait(
        browser, lambda d: "acknowledged by planner" in d.find_element(By.ID, "alerts-message").text
    )
    wait(browser, lambda d: "ack planner" in d.find_element(By.ID, "alerts-journal-table").text)
    assert database.execute(
        "SELECT m.name FROM alerts a JOIN machines m ON m.id = a.machine_id"
        " WHERE a.acked_by = 'planner'"
    ) == [("press-01",)]
    assert severe(browser) == []


def test_a_viewer_cannot_trigger_a_reschedule(
    served: str, browser: Chrome, database: Database
) -> None:
    browser.set_script_timeout(10)
    sign_in(browser, served, "viewer")
    browser.get(served + "/schedule")
    wait_for_page(browser, "schedule")
    assert not browser.find_element(By.ID, "reschedule-button").is_enabled()
    # The button is only a hint: call the callback directly with the viewer's session.
    result = post_callback(
        browser,
        served,
        {
            "output": "reschedule-message.children",
            "outputs": {"id": "reschedule-message", "property": "children"},
            "inputs": [{"id": "reschedule-button", "property": "n_clicks", "value": 1}],
            "changedPropIds": ["reschedule-button.n_clicks"],
            "state": [],
        },
    )
    assert result["status"] == 200
    assert "Refused: viewer may not request a reschedule" in result["body"]
    assert database.execute("SELECT count(*) FROM schedules WHERE state = 'requested'") == [(0,)]
    assert severe(browser) == []


def _timed_load(driver: Chrome, url: str, page: str, extra: Any = None) -> float:
    driver.get("about:blank")
    start = time.perf_counter()
    driver.get(url)
    wait_for_page(driver, page)
    if extra is not None:
        wait(driver, extra)
    return time.perf_counter() - start


@pytest.mark.slow  # a measurement (prints the load times), not a check of behaviour
def test_load_times_with_a_week_of_minute_data(
    served: str,
    browser: Chrome,
    database: Database,
    plant: Plant,
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.perf_counter()
    written = write_week_of_minutes(database, "bench-01", 20, plant.now)
    database.execute("UPDATE machines SET line = 'Line A' WHERE name = 'bench-01'")
    write_s = time.perf_counter() - started
    assert written == 20 * 7 * 1440
    sign_in(browser, served, "viewer")

    def trends_drawn(driver: Chrome) -> bool:
        count = driver.execute_script(
            "return document.querySelectorAll('#machine-trends g.trace.scatter').length"
        )
        return int(count) >= 40  # 20 sensors x (min–max band, average)

    overview = [_timed_load(browser, served + "/", "overview") for _ in range(3)]
    machine = [
        _timed_load(browser, served + "/machine/bench-01?range=7d", "machine", trends_drawn)
        for _ in range(3)
    ]
    screenshot(browser, "machine-7d-20-sensors")
    assert "7d · 30 min buckets" in browser.find_element(By.ID, "machine-trends-title").text
    with capsys.disabled():
        print(
            f"\n[dashboard load times] wrote {written:,} readings in {write_s:.1f} s;"
            f" overview {overview[0]:.2f} s cold, {min(overview[1:]):.2f} s warm;"
            f" machine page, 7 d x 20 sensors x 1 min: {machine[0]:.2f} s cold,"
            f" {min(machine[1:]):.2f} s warm (target < 2 s)"
        )
    assert severe(browser) == []
