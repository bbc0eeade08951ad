"""A retry with the same Idempotency-Key straight after a success replays it, never 409.

Over HTTP to uvicorn (the race lived between the response reaching the client and the stored
record being committed, which an in-process transport cannot show): 1,000 keys, each sent
once and retried at once with the same body: 1,000 replays, 0 × 409, one effect per key.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import httpx
import pytest

from millwright.app.settings import Settings
from millwright.app.web import mes_api
from millwright.core.storage.database import Database
from millwright.core.users import UserStore
from tests.scheduler.plant import CONFIG, seed_machines, serve

RETRIES = 1000


@pytest.fixture
def api(database: Database) -> Iterator[tuple[str, str]]:
    seed_machines(database)
    store = UserStore(database)
    store.add("mes", "mes-password-1", roles=["planner"])
    token = store.create_token("mes")
    with serve(mes_api(Settings(scheduler=CONFIG), database)) as url:
        yield url, token


def test_a_thousand_sequential_retries_get_the_original_response(
    api: tuple[str, str], database: Database
) -> None:
    url, token = api
    outcomes: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=30) as client:
        for i in range(RETRIES):
            body = {
                "external_id": f"R{i}",
                "release_at": "2030-01-07T06:00:00Z",
                "due_at": "2030-01-07T14:00:00Z",
                "operations": [{"seq": 0, "options": [{"machine": "M1", "duration_s": 60}]}],
            }
            key = {"Idempotency-Key": f"retry-{i}"}
            first = client.post("/jobs", json=body, headers=key)
            assert first.status_code == 201, first.text
            again = client.post("/jobs", json=body, headers=key)
            if again.status_code == 409:
                outcomes[again.json()["error"]["code"]] += 1
                continue
            assert again.status_code == 201
            assert again.headers["Idempotency-Replayed"] == "true"
            assert again.content == first.content
            outcomes["replayed"] += 1
    assert outcomes == Counter({"replayed": RETRIES})
    assert database.execute("SELECT count(*) FROM jobs") == [(RETRIES,)]
    assert database.execute(
        "SELECT count(*) FROM api_idempotency_keys WHERE status_code = 201"
    ) == [(RETRIES,)]
