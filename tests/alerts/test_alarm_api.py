"""GET /api/v1/alerts (filters, paging), ack with a comment, shelve and unshelve, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest

from millwright.app.settings import Settings
from millwright.app.web import mes_api
from millwright.core.storage.database import Database
from millwright.core.users import UserStore, hash_password
from tests.alerts.test_lifecycle import T0, seed_flood
from tests.scheduler.plant import serve

API = "/api/v1"
HASH = hash_password("not-used-by-these-tests")


@pytest.fixture
def client(database: Database) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    tokens = {}
    for role in ("viewer", "maintenance"):
        database.execute(
            "INSERT INTO users (username, password_hash, roles) VALUES (%s, %s, %s)",
            (role, HASH, [role]),
        )
        tokens[role] = UserStore(database).create_token(role)
    seed_flood(database, T0)
    # A data clock: the plant's "now" is its newest reading, an hour after the flood began.
    database.execute("INSERT INTO sensors (machine_id, name) SELECT id, 't' FROM machines LIMIT 1")
    database.execute(
        "INSERT INTO readings (ts, machine_id, sensor_id, value) SELECT %s, machine_id, id, 1"
        " FROM sensors",
        (T0 + timedelta(hours=1),),
    )
    settings = Settings(worker={"clock": "data"})  # type: ignore[arg-type]
    with serve(mes_api(settings, database)) as url, httpx.Client(base_url=url + API) as c:
        yield c, {r: f"Bearer {t}" for r, t in tokens.items()}


def test_list_filter_page_ack_and_shelve(client: tuple[httpx.Client, dict[str, str]]) -> None:
    http, auth = client
    viewer = {"Authorization": auth["viewer"]}
    fixer = {"Authorization": auth["maintenance"]}
    assert http.get("/alerts").status_code == 401
    page = http.get("/alerts", headers=viewer, params={"limit": 5}).json()
    assert (page["total"], len(page["items"])) == (34, 5)
    first = page["items"][0]
    assert first["state"] == "unacknowledged" and first["condition"] == "open"
    assert first["state_text"] == "Active, unacknowledged"
    oven = http.get("/alerts", headers=viewer, params={"machine": "oven-3", "offset": 2}).json()
    assert (oven["total"], len(oven["items"])) == (3, 1)
    cleared = http.get(
        "/alerts", headers=viewer, params={"state": "returned_unacknowledged", "limit": 200}
    ).json()
    assert cleared["total"] == 32
    assert cleared["items"][0]["duration_s"] == 60.0
    bad = http.get("/alerts", headers=viewer, params={"state": "asleep"})
    assert bad.status_code == 422

    alert_id = first["id"]
    assert http.post(f"/alerts/{alert_id}/ack", headers=viewer, json={}).status_code == 403
    ack = http.post(f"/alerts/{alert_id}/ack", headers=fixer, json={"comment": "seen, spare ok"})
    assert ack.status_code == 200 and ack.json()["acked_by"] == "maintenance"
    shelf = http.post(
        f"/alerts/{alert_id}/shelve",
        headers={**fixer, "Idempotency-Key": "shelve-1"},
        json={"minutes": 90, "reason": "probe swap"},
    )
    assert shelf.status_code == 200, shelf.text
    body = shelf.json()
    assert body["state"] == "shelved" and body["shelve_reason"] == "probe swap"
    assert body["shelved_until"].startswith("2026-03-02T08:30")  # plant now 07:00 + 90 min
    assert [h["action"] for h in body["history"]] == ["acknowledged", "shelved"]
    assert body["history"][0]["comment"] == "seen, spare ok"
    again = http.post(
        f"/alerts/{alert_id}/shelve",
        headers={**fixer, "Idempotency-Key": "shelve-1"},
        json={"minutes": 90, "reason": "probe swap"},
    )
    assert again.headers.get("Idempotency-Replayed") == "true"
    assert (
        http.post(
            f"/alerts/{alert_id}/shelve", headers=fixer, json={"minutes": 0, "reason": "x"}
        ).status_code
        == 422
    )
    shelved = http.get("/alerts", headers=viewer, params={"state": "shelved"}).json()
    assert [a["id"] for a in shelved["items"]] == [alert_id]
    back = http.post(f"/alerts/{alert_id}/unshelve", headers=fixer).json()
    assert back["state"] == "acknowledged"
    assert http.post("/alerts/424242/shelve", headers=fixer,
                     json={"minutes": 5, "reason": "x"}).status_code == 404  # fmt: skip
