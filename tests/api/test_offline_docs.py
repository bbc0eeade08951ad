"""/docs and /redoc work on a plant network without internet (issue #17, item 7).

The pages reference only assets the API serves itself (shipped by fastapi-offline), and
headless Chromium with every host but 127.0.0.1 unresolvable renders both: Swagger UI's
operations and ReDoc's sections, with no failed request in the console but ReDoc's own
branding logo (which it hides when unreachable).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from millwright.app.settings import Settings
from millwright.app.web import mes_api
from tests.dashboard.browser import chromium
from tests.scheduler.plant import serve

REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


@pytest.fixture(scope="module")
def api_url() -> Iterator[str]:
    with serve(mes_api(Settings(), None)) as url:  # type: ignore[arg-type]
        yield url


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_pages_reference_only_local_assets(api_url: str, page: str) -> None:
    html = httpx.get(api_url + page).text
    references = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', html)
    assert references, html
    for reference in references:
        assert not re.match(r"^(https?:)?//", reference), reference
        assert httpx.get(api_url + reference).status_code == 200, reference
    assert "fonts.googleapis" not in html and "cdn." not in html


@pytest.mark.browser
def test_swagger_ui_and_redoc_render_with_the_network_off(api_url: str) -> None:
    with chromium(extra_flags=(OFFLINE,)) as driver:
        driver.get(api_url + "/docs")
        WebDriverWait(driver, 20).until(
            lambda d: len(d.find_elements(By.CSS_SELECTOR, ".opblock")) >= 20
        )
        assert "Millwright MES API" in driver.find_element(By.CSS_SELECTOR, ".title").text

        driver.get(api_url + "/redoc")
        WebDriverWait(driver, 20).until(
            lambda d: (
                "Millwright MES API" in d.find_element(By.TAG_NAME, "body").text
                and d.find_elements(By.CSS_SELECTOR, "[data-section-id]")
            )
        )
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        # ReDoc 2 always tries its footer's "API docs by Redocly" logo from its CDN and hides
        # the image when that fails; nothing the page needs comes from outside.
        assert [e for e in severe if REDOCLY_LOGO not in e["message"]] == []
