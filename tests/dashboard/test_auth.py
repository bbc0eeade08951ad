"""Sign-in and server-side role checks, through HTTP on the dashboard's Flask server."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from dashboard.app import create_dashboard
from millwright.core.storage.database import Database
from tests.dashboard.conftest import make_settings
from tests.dashboard.plant import PASSWORD, Plant


def _csrf(client: FlaskClient) -> str:
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD, **extra: str) -> Any:
    form = {"username": username, "password": password, "csrf": _csrf(client), **extra}
    return client.post("/login", data=form)


def reschedule_call(client: FlaskClient) -> Any:
    """What the browser posts when the reschedule button is clicked."""
    payload = {
        "output": "reschedule-message.children",
        "outputs": {"id": "reschedule-message", "property": "children"},
        "inputs": [{"id": "reschedule-button", "property": "n_clicks", "value": 1}],
        "changedPropIds": ["reschedule-button.n_clicks"],
        "state": [],
    }
    return client.post("/_dash-update-component", json=payload)


@pytest.fixture
def client(app: Any) -> FlaskClient:
    return app.server.test_client()  # type: ignore[no-any-return]


def test_a_signed_out_visitor_reaches_only_the_sign_in_page(client: FlaskClient) -> None:
    response = client.get("/schedule")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/schedule"
    for path in ("/_dash-layout", "/_dash-dependencies"):
        assert client.get(path).status_code == 401
    assert reschedule_call(client).status_code == 401
    page = client.get("/login")
    assert page.status_code == 200 and 'id="login-form"' in page.get_data(as_text=True)
    assert client.get("/assets/millwright.css").status_code == 200


def test_sign_in_with_a_wrong_password_or_a_stale_form_is_refused(
    client: FlaskClient, users: None
) -> None:
    response = sign_in(client, "planner", "wrong-password")
    assert response.status_code == 401
    assert "wrong password" in response.get_data(as_text=True)
    response = client.post("/login", data={"username": "planner", "password": PASSWORD})
    assert response.status_code == 401 and "expired" in response.get_data(as_text=True)
    assert client.get("/_dash-layout").status_code == 401


def test_sign_in_then_out(client: FlaskClient, users: None) -> None:
    response = sign_in(client, "viewer", next="/alerts")
    assert response.status_code == 302 and response.headers["Location"] == "/alerts"
    layout = client.get("/_dash-layout")
    assert layout.status_code == 200 and "viewer" in layout.get_data(as_text=True)
    assert client.post("/logout").status_code == 302
    assert client.get("/_dash-layout").status_code == 401


def test_next_is_not_an_open_redirect(client: FlaskClient, users: None) -> None:
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = sign_in(client, "viewer", next=target)
        assert response.headers["Location"] == "/", target
        client.post("/logout")


def test_a_viewer_cannot_trigger_a_reschedule_on_the_server(
    client: FlaskClient, database: Database, plant: Plant, users: None
) -> None:
    sign_in(client, "viewer")
    response = reschedule_call(client)
    assert response.status_code == 200
    message = json.loads(response.get_data(as_text=True))["response"]["reschedule-message"]
    assert message["children"].startswith("Refused: viewer may not request a reschedule")
    assert database.execute("SELECT count(*) FROM schedules WHERE state = 'requested'") == [(0,)]

    client.post("/logout")
    sign_in(client, "planner")
    message = json.loads(reschedule_call(client).get_data(as_text=True))["response"]
    assert "queued" in message["reschedule-message"]["children"]
    rows = database.execute("SELECT requested_by FROM schedules WHERE state = 'requested'")
    assert rows == [("planner",)]


def test_local_only_dashboard_needs_no_sign_in(database_url: str, database: Database) -> None:
    settings = make_settings(database_url)  # require_login=auto, public_url on 127.0.0.1
    local = create_dashboard(settings, database, bind_host="127.0.0.1").server.test_client()
    assert local.get("/").status_code == 200
    assert "local access" in local.get("/_dash-layout").get_data(as_text=True)
    remote = create_dashboard(settings, database, bind_host="0.0.0.0").server.test_client()
    assert remote.get("/").status_code == 302
