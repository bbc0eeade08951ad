"""Property-based tests generated from the API's own OpenAPI document (schemathesis).

Every operation gets a bounded number of generated requests, sent over HTTP to the app under
uvicorn with an admin token, against one seeded plant that has a current plan. Checks: no server
error, and every response (status, headers, body) is one the document promises.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from millwright.app.settings import Settings
from millwright.app.web import mes_api
from millwright.core.storage.database import Database
from millwright.core.users import UserStore
from scheduler import service
from tests.conftest import truncate_all
from tests.scheduler.plant import (
    CONFIG,
    NOW,
    seed_job,
    seed_machines,
    seed_risk,
    serve,
)

TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_url(database_url: str) -> Iterator[str]:
    """One seeded plant and server for every operation: generated writes pile up, which only
    widens the states the later operations see."""
    truncate_all(database_url)
    database = Database(database_url, min_size=1, max_size=4)
    try:
        yield from _serve_seeded(database)
    finally:
        database.close()


def _serve_seeded(database: Database) -> Iterator[str]:
    ids = seed_machines(database)
    seed_risk(database, ids["M3"], rul_low_hours=5)
    seed_job(database, "J1", [{ids["M1"]: 600}, {ids["M2"]: 900, ids["M3"]: 900}])
    schedule = service.request_schedule(database, "seed", time_limit_s=2)
    service.solve_schedule(database, CONFIG, schedule.id, now=NOW)
    database.execute(
        "INSERT INTO alerts (machine_id, rule, severity, state, opened_at)"
        " VALUES (%s, 'rul_low', 'critical', 'open', now())",
        (ids["M3"],),
    )
    users = UserStore(database)
    database.execute(
        "INSERT INTO users (username, password_hash, roles) VALUES ('fuzz', 'x', '{admin}')"
    )
    TOKEN["admin"] = users.create_token("fuzz")
    app = mes_api(Settings(scheduler=CONFIG), database)
    with serve(app) as url:
        yield url


# The document does not depend on the database, so it is loaded at import time (schemathesis'
# lazy fixture loader does not work with pytest 9); requests go to the seeded server.
schema = schemathesis.openapi.from_dict(mes_api(Settings(), None).openapi())  # type: ignore[arg-type]


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_server_errors_and_responses_match_the_document(api_url: str, case: Any) -> None:
    case.call_and_validate(
        base_url=api_url,
        headers={"Authorization": f"Bearer {TOKEN['admin']}"},
        checks=[status_code_conformance, response_schema_conformance],
    )
