"""The plant floor in real headless Chromium, one test per "done when" of issue #21: a
data-clock plant's live series, Gantt zoom kept across refreshes, every machine row, a bar
that opens its order, ack with a comment by the signed-in user, shelving and its expiry on
the plant clock, the journal with a resolved alarm, KPIs on a seeded flood, kiosk rotation,
and the time range in the URL. ``MILLWRIGHT_UPDATE_DOCS_SHOTS=1`` refreshes docs/*.png
(1440×900)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver import Chrome
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

import alerts
from dashboard.app import create_dashboard
from millwright.app.settings import Settings
from millwright.core.storage import ReadingsWriter
from millwright.core.storage.database import Database
from millwright.core.users import UserStore
from tests.alerts.test_lifecycle import T0, seed_flood
from tests.dashboard.browser import chromium, serve_wsgi
from tests.dashboard.conftest import SECRET
from tests.dashboard.plant import MACHINES, Plant, seed_plant, seed_users
from tests.dashboard.test_browser import page_text, screenshot, severe, sign_in, wait, wait_for_page

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs"
AHEAD = timedelta(days=3, hours=5)


def floor_settings(database_url: str, clock: str = "data", **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        dashboard={"secret_key": SECRET, "require_login": "true", "refresh_s": 2},  # type: ignore[arg-type]
        worker={"clock": clock},  # type: ignore[arg-type]
        plant_timezone="Europe/Berlin",
        **extra,
    )


@pytest.fixture
def ahead(database: Database) -> Plant:
    """The seeded plant, three days ahead of the wall clock (a replayed/accelerated plant)."""
    seed_users(database)
    return seed_plant(database, datetime.now(UTC) + AHEAD)


@pytest.fixture
def served(database_url: str, database: Database, ahead: Plant) -> Iterator[str]:
    app = create_dashboard(floor_settings(database_url), database)
    with serve_wsgi(app.server) as url:
        yield url


@pytest.fixture
def browser() -> Iterator[Chrome]:
    with chromium() as driver:
        driver.set_window_size(1440, 900)
        driver.set_script_timeout(10)
        yield driver


def docs_shot(driver: Chrome, name: str) -> None:
    shot = screenshot(driver, name)
    if os.environ.get("MILLWRIGHT_UPDATE_DOCS_SHOTS"):
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(shot, DOCS / f"{name}.png")


def graph(driver: Chrome, graph_id: str, expression: str) -> Any:
    """Evaluate ``expression`` on the plotly graph div (``gd``) of dcc.Graph ``graph_id``."""
    return driver.execute_script(
        f"const gd = document.querySelector('#{graph_id} .js-plotly-plot'); return {expression};"
    )


def stamp_of(driver: Chrome, page: str) -> str:
    return str(driver.find_element(By.CSS_SELECTOR, f"#{page}-stamp [data-updated]")
               .get_attribute("data-updated"))  # fmt: skip


def click_at(driver: Chrome, x: float, y: float) -> None:
    actions = ActionBuilder(driver)
    actions.pointer_action.move_to_location(int(x), int(y)).click()
    actions.perform()


def local(ts: datetime) -> str:
    from zoneinfo import ZoneInfo

    return ts.astimezone(ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%d %H:%M")


def test_a_data_clock_plant_shows_its_live_series_trends_and_plan(
    served: str, browser: Chrome, ahead: Plant
) -> None:
    sign_in(browser, served, "viewer")
    browser.get(served + "/machine/press-01")
    wait_for_page(browser, "machine")
    wait(browser, lambda d: graph(d, "machine-risk", "gd && gd.data && gd.data.length") > 0)
    xs = graph(browser, "machine-risk", "gd.data.filter(t => t.name === 'model v2')[0].x")
    assert len(xs) == 12 and xs[-1].startswith(local(ahead.now))  # live, up to plant now
    x_range = wait(browser, lambda d: graph(d, "machine-risk", "gd.layout.xaxis.range"))
    assert x_range[1] > xs[-1]  # the axis spans the whole range, not one point
    points = graph(
        browser,
        "machine-trends",
        "gd.data.filter(t => t.x0).map(t => t.y.filter(v => v !== null).length)",
    )
    assert len(points) == 3 and min(points) >= 24
    header = browser.find_element(By.ID, "machine-header").text
    assert "FAILURE RISK (NEXT 24 H)" in header and "85%" in header
    assert local(ahead.now)[11:] in browser.find_element(By.ID, "plant-clock").text
    assert "CET" in browser.find_element(By.ID, "plant-clock").text
    docs_shot(browser, "machine")

    browser.find_element(By.ID, "nav-schedule").click()
    wait_for_page(browser, "schedule")
    wait(browser, lambda d: graph(d, "schedule-gantt", "gd && gd.layout && gd.layout.shapes"))
    now_x = graph(
        browser, "schedule-gantt", "gd.layout.shapes.filter(s => s.line.dash === 'dash')[0].x0"
    )
    assert now_x.startswith(local(ahead.now))
    x_range = wait(browser, lambda d: graph(d, "schedule-gantt", "gd._fullLayout.xaxis.range"))
    # The plan is days ahead of the wall clock; the now line sits inside it, not at its end.
    assert x_range[0] < now_x < x_range[1]
    assert severe(browser) == []


def test_gantt_keeps_zoom_has_every_row_and_a_bar_opens_its_order(
    served: str, browser: Chrome
) -> None:
    sign_in(browser, served, "planner")
    browser.get(served + "/schedule")
    wait_for_page(browser, "schedule")
    wait(browser, lambda d: "J-101" in d.find_element(By.ID, "schedule-gantt").text)
    ticks = graph(browser, "schedule-gantt", "gd._fullLayout.yaxis.ticktext")
    assert [t.split(" · ")[0] for t in ticks] == [m[0] for m in sorted(
        MACHINES, key=lambda m: (m[1], m[0]))]  # fmt: skip
    assert "LINE A" in browser.find_element(By.ID, "schedule-gantt").text
    docs_shot(browser, "schedule")

    # A real mouse drag zooms into the first part of the plan.
    drag = browser.find_element(By.CSS_SELECTOR, "#schedule-gantt .nsewdrag")
    box = drag.rect
    ActionChains(browser).move_to_element_with_offset(
        drag, int(-box["width"] * 0.3), 0
    ).click_and_hold().move_by_offset(int(box["width"] * 0.25), 0).release().perform()
    time.sleep(1.0)  # the zoom reaches the page's store in one callback round trip
    # A refresh already on its way when the drag ended may carry the store from before it:
    # the zoom must survive the refresh after that one.
    before = stamp_of(browser, "schedule")
    wait(browser, lambda d: stamp_of(d, "schedule") != before, timeout=15)
    time.sleep(0.5)
    zoomed = graph(browser, "schedule-gantt", "gd._fullLayout.xaxis.range")
    assert graph(browser, "schedule-gantt", "gd._fullLayout.xaxis.autorange") is False
    before = stamp_of(browser, "schedule")
    wait(browser, lambda d: stamp_of(d, "schedule") != before, timeout=15)  # a refresh came
    time.sleep(0.5)
    assert graph(browser, "schedule-gantt", "gd._fullLayout.xaxis.range") == zoomed
    assert graph(browser, "schedule-gantt", "gd._fullLayout.xaxis.autorange") is False

    # Reset, then click the late order's bar: its order opens below.
    graph(browser, "schedule-gantt", "Plotly.relayout(gd, {'xaxis.autorange': true})")
    time.sleep(0.3)
    bar = graph(
        browser,
        "schedule-gantt",
        """(() => {
        const i = gd.data.findIndex(t => t.name === 'Late order');
        const r = gd.querySelectorAll('.barlayer .trace')[i].querySelector('path')
            .getBoundingClientRect();
        return [r.left + r.width / 2, r.top + r.height / 2]; })()""",
    )
    click_at(browser, *bar)
    wait(browser, lambda d: d.find_elements(By.ID, "order-title"))
    assert browser.find_element(By.ID, "order-title").text == "Order J-101"
    summary = browser.find_element(By.ID, "order-summary").text
    assert "late by 60 min" in summary and "weight 2" in summary
    steps = browser.find_element(By.ID, "order-steps").text
    assert "press-01" in steps and "waits for maintenance on press-01" in steps
    assert severe(browser) == []


def test_ack_with_comment_shelve_and_expiry_on_the_plant_clock(
    served: str, browser: Chrome, database: Database, ahead: Plant
) -> None:
    sign_in(browser, served, "fixer")
    browser.get(served + "/alerts")
    wait_for_page(browser, "alerts")
    press = ahead.alert_ids["press-01"]
    row = f'#alerts-journal-table tr[data-alert="{press}"]'
    comment = browser.find_element(By.ID, "alerts-comment")
    comment.send_keys("bearing ordered, spare on shelf 4", Keys.TAB)
    browser.find_element(By.CSS_SELECTOR, f"{row} button").click()  # Acknowledge
    wait(browser, lambda d: "acknowledged by fixer" in d.find_element(By.ID, "alerts-message").text)
    assert database.execute("SELECT acked_by, ack_comment FROM alerts WHERE id = %s", (press,)) \
        == [("fixer", "bearing ordered, spare on shelf 4")]  # fmt: skip
    wait(browser, lambda d: "“bearing ordered" in d.find_element(By.CSS_SELECTOR, row).text)

    # The box is emptied once its comment is used; the next words are the shelving reason.
    wait(browser, lambda d: d.find_element(By.ID, "alerts-comment").get_attribute("value") == "")
    comment = browser.find_element(By.ID, "alerts-comment")
    comment.send_keys("sensor cable being replaced", Keys.TAB)

    def click_shelve(d: Chrome) -> bool:
        # a refresh may replace the row between finding its button and clicking it
        found = [b for b in d.find_elements(By.CSS_SELECTOR, f"{row} button") if b.text == "Shelve"]
        if found:
            found[0].click()
        return bool(found)

    wait(browser, click_shelve)  # for the default hour
    wait(browser, lambda d: "shelved by fixer" in d.find_element(By.ID, "alerts-message").text)
    # one read of the row per try: a refresh may replace it between two reads
    shelved = ("Shelved", "until", ": sensor cable being replaced")
    wait(browser, lambda d: all(w in d.find_element(By.CSS_SELECTOR, row).text for w in shelved))
    docs_shot(browser, "alerts")

    # The plant clock moves on by two hours (new readings): the shelf has run out by itself.
    frame = __import__("pandas").DataFrame({"machine": "press-01", "sensor": "temperature",
                                            "ts": [ahead.now + timedelta(hours=2)],
                                            "value": [51.0]})  # fmt: skip
    ReadingsWriter(database, max_future_s=365 * 86_400).write(frame)
    wait(browser, lambda d: "Active, acknowledged" in d.find_element(By.CSS_SELECTOR, row).text,
         timeout=15)  # fmt: skip
    config = floor_settings("postgresql://unused").alerts
    alerts.expire_shelves(database, config, public_url="", now=ahead.now + timedelta(hours=2))
    history = alerts.history_of(database, [press])[press]
    assert [e.action for e in history] == ["acknowledged", "shelved", "unshelved"]
    assert severe(browser) == []


def test_the_journal_lists_a_resolved_alarm(served: str, browser: Chrome, ahead: Plant) -> None:
    sign_in(browser, served, "viewer")
    browser.get(served + "/alerts")
    wait_for_page(browser, "alerts")
    row = browser.find_element(
        By.CSS_SELECTOR, f'#alerts-journal-table tr[data-alert="{ahead.alert_ids["press-02"]}"]'
    )
    cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
    assert cells[1] == "press-02" and cells[3] == "Cleared, unacknowledged"
    assert cells[5] == "60 min" and cells[6] != "—"
    assert all(
        not b.is_enabled() for b in browser.find_elements(By.CSS_SELECTOR, "td.actions button")
    )


def test_kpis_on_a_seeded_flood_with_the_range_in_the_url(
    database_url: str, database: Database, browser: Chrome
) -> None:
    seed_users(database)
    seed_flood(database, T0)
    # the wall clock, as the stale count below says: a data clock would follow any reading
    settings = floor_settings(database_url, clock="wall").model_copy(
        update={"plant_timezone": "UTC"}
    )
    app = create_dashboard(settings, database)
    with serve_wsgi(app.server) as url:
        sign_in(browser, url, "viewer")
        browser.get(url + "/alerts?from=2026-03-02T06:00&to=2026-03-02T07:00")
        wait_for_page(browser, "alerts")

        def kpis(d: Chrome) -> list[str]:
            # one script reads all five: a refresh every 2 s replaces the elements, and on a
            # busy host five separate reads almost never see one render
            ids = ["kpi-rate", "kpi-flood", "kpi-peak", "kpi-stale", "kpi-count"]
            return list(
                d.execute_script(
                    "return arguments[0].map(i => document.getElementById(i)?.innerText ?? '')",
                    ids,
                )
            )

        # 33 alarms in 6 ten-minute intervals; 2 of 6 intervals hold more than 10 alarms;
        # both still-open alarms are older than 24 h at the wall-clock now.
        seen: list[list[str]] = []

        def settled(d: Chrome) -> bool:
            seen.append(kpis(d))
            return seen[-1] == ["5.50", "33%", "15", "2", "33"]

        try:
            wait(browser, settled)
        except TimeoutException:
            raise AssertionError(f"the KPIs never settled; last seen: {seen[-3:]}") from None
        actors = wait(browser, lambda d: d.find_element(By.ID, "kpi-bad-actors").text)
        assert actors.splitlines()[1:3] == ["press-1 risk 20 61%", "mill-2 risk 9 27%"]
        assert browser.find_element(By.ID, "range-from").get_attribute("value") == (
            "2026-03-02 06:00"
        )
        screenshot(browser, "alerts-flood")
        assert severe(browser) == []


def test_the_time_range_and_refresh_live_in_the_url(served: str, browser: Chrome) -> None:
    sign_in(browser, served, "viewer")
    browser.get(served + "/machine/press-01")
    wait_for_page(browser, "machine")
    start = browser.find_element(By.ID, "range-from")
    start.send_keys("2026-01-05 06:00", Keys.TAB)
    end = browser.find_element(By.ID, "range-to")
    end.send_keys("2026-01-06 06:00", Keys.TAB)
    browser.find_element(By.ID, "range-apply").click()
    wait(browser, lambda d: "from=2026-01-05T06%3A00" in d.current_url)
    assert "to=2026-01-06T06%3A00" in browser.current_url
    wait(
        browser, lambda d: "05 Jan 06:00 CET" in d.find_element(By.ID, "machine-trends-title").text
    )
    # Pause: the URL says refresh=0 and the page stops ticking.
    browser.find_element(By.CSS_SELECTOR, "#refresh-choice").click()
    wait(browser, lambda d: [o for o in d.find_elements(By.XPATH, "//*[text()='Paused']")
                             if o.is_displayed()])[0].click()  # fmt: skip
    wait(browser, lambda d: "refresh=0" in d.current_url)
    # The link is the view: opened afresh, it shows the same range.
    browser.get(browser.current_url)
    wait_for_page(browser, "machine")
    assert "05 Jan 06:00 CET" in browser.find_element(By.ID, "machine-trends-title").text
    wait(browser, lambda d: d.find_element(By.ID, "range-from").get_attribute("value")
         == "2026-01-05 06:00")  # fmt: skip
    paused = stamp_of(browser, "machine")
    time.sleep(3)
    assert stamp_of(browser, "machine") == paused
    assert severe(browser) == []


def test_kiosk_mode_signs_in_with_a_viewer_token_and_rotates(
    served: str, browser: Chrome, database: Database
) -> None:
    token = UserStore(database).create_token("viewer")
    browser.get(f"{served}/?kiosk=1&rotate=5&theme=hp&token={token}")
    wait_for_page(browser, "overview")
    assert "token" not in browser.current_url  # dropped from the address at once
    assert "kiosk" in cast(str, browser.find_element(By.TAG_NAME, "body").get_attribute("class"))
    assert not browser.find_element(By.ID, "nav-overview").is_displayed()
    time.sleep(1)
    docs_shot(browser, "kiosk-overview")
    wait(browser, lambda d: d.current_url.split("?")[0].endswith("/schedule"), timeout=12)
    wait_for_page(browser, "schedule")
    wait(browser, lambda d: d.current_url.split("?")[0].endswith("/alerts"), timeout=12)
    wait_for_page(browser, "alerts")
    assert "kiosk=1" in browser.current_url
    planner = UserStore(database).create_token("planner")
    browser.get(f"{served}/?kiosk=1&token={planner}")
    assert "viewer-only" in page_text(browser)  # a token that could act is refused


def test_pages_fit_from_1024_to_1920(served: str, browser: Chrome) -> None:
    sign_in(browser, served, "planner")
    for width, height in ((1024, 768), (1920, 1080)):
        browser.set_window_size(width, height)
        for path, page in (("/", "overview"), ("/schedule", "schedule"), ("/alerts", "alerts"),
                           ("/machine/press-01", "machine")):  # fmt: skip
            browser.get(served + path)
            wait_for_page(browser, page)
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, f"{path} overflows by {overflow} px at {width} px"
    browser.set_window_size(1440, 900)
    browser.get(served + "/?sort=risk")
    wait_for_page(browser, "overview")
    time.sleep(1.2)
    docs_shot(browser, "overview")
    browser.get(served + "/?theme=hp")
    wait_for_page(browser, "overview")
    time.sleep(1.2)
    docs_shot(browser, "overview-high-performance")
