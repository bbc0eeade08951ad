"""GET /api/v1/outcomes over a seeded plant: figures per group, the trend and the
counterfactual; a reversed period is a 422 in one sentence."""

from __future__ import annotations

import httpx

from millwright.app.settings import Settings
from millwright.app.web import mes_api
from millwright.core.storage import Database
from millwright.core.users import UserStore
from tests.outcomes.test_report import _seed
from tests.scheduler.plant import serve


def test_outcomes_per_machine(database: Database) -> None:
    _seed(database)
    database.execute(
        "INSERT INTO users (username, password_hash, roles) VALUES ('viewer', 'x', '{viewer}')"
    )
    token = UserStore(database).create_token("viewer")
    headers = {"Authorization": f"Bearer {token}"}
    with serve(mes_api(Settings(), database)) as url, httpx.Client(base_url=url) as client:
        response = client.get(
            "/api/v1/outcomes",
            params={
                "from": "2026-05-01T00:00:00Z",
                "to": "2026-05-11T00:00:00Z",
                "group": "machine",
            },
            headers=headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        machines = {f["group"]: f for f in body["figures"]}
        assert machines["m-001"]["failures"] == 2 and machines["m-001"]["recall"] == 0.5
        assert machines["m-001"]["lead_time_median_hours"] == 10.0  # alert at 20 h, failure at 30
        assert machines["m-002"]["planned_downtime_hours"] == 6.0
        assert machines["m-002"]["mttr_hours"] == 12.0  # repairs of 11 and 13 h
        assert body["bucket"] == "day" and len(body["trend"]) == 10
        assert sum(day["failures"] for day in body["trend"]) == 4
        assert body["counterfactual"]["assumptions"]

        reversed_period = client.get(
            "/api/v1/outcomes",
            params={"from": "2026-05-11T00:00:00Z", "to": "2026-05-01T00:00:00Z"},
            headers=headers,
        )
        assert reversed_period.status_code == 200
        assert reversed_period.json()["figures"] == []
        assert "the period is empty" in reversed_period.json()["note"]
        unix = client.get("/api/v1/outcomes", params={"to": "0.5"}, headers=headers)
        assert unix.status_code == 422 and "ISO 8601" in unix.text
        assert client.get("/api/v1/outcomes").status_code == 401
