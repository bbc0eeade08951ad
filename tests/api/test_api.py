"""The MES API over HTTP (uvicorn on a free port), real PostgreSQL and the real solver."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from millwright.app.settings import Settings
from millwright.app.web import mes_api
from millwright.core.storage.database import Database
from millwright.core.users import UserStore, hash_password
from scheduler import service
from tests.scheduler.plant import CONFIG, NOW, seed_machines, seed_risk, serve

API = "/api/v1"
PASSWORD_HASH = hash_password("not-used-by-these-tests")


class Plant:
    """A client plus one token per role."""

    def __init__(self, database: Database, client: httpx.Client, tokens: dict[str, str]) -> None:
        self.database = database
        self.client = client
        self.tokens = tokens

    def headers(self, role: str, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}", **extra}

    def post(self, path: str, body: Any = None, role: str = "planner", **headers: str) -> Any:
        return self.client.post(API + path, json=body, headers=self.headers(role, **headers))

    def get(self, path: str, role: str = "viewer", **params: Any) -> Any:
        return self.client.get(API + path, headers=self.headers(role), params=params)


@pytest.fixture
def plant(database: Database) -> Iterator[Plant]:
    users = UserStore(database)
    tokens = {}
    for role in ("viewer", "planner", "maintenance", "admin"):
        # Plain SQL with one precomputed hash: scrypt per user would dominate the suite's time.
        database.execute(
            "INSERT INTO users (username, password_hash, roles) VALUES (%s, %s, %s)",
            (role, PASSWORD_HASH, [role]),
        )
        tokens[role] = users.create_token(role)
    settings = Settings(scheduler=CONFIG.model_copy(update={"api_max_body_bytes": 4096}))
    with serve(mes_api(settings, database)) as url, httpx.Client(base_url=url) as client:
        yield Plant(database, client, tokens)


def job_body(external_id: str = "J1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "external_id": external_id,
        "release_at": NOW.isoformat(),
        "due_at": (NOW + timedelta(hours=8)).isoformat(),
        "operations": [
            {"seq": 0, "name": "turn", "options": [{"machine": "M1", "duration_s": 1200}]},
            {
                "seq": 1,
                "name": "mill",
                "options": [
                    {"machine": "M2", "duration_s": 1800},
                    {"machine": "M3", "duration_s": 1800},
                ],
            },
        ],
    }
    body.update(overrides)
    return body


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert isinstance(error["details"], list)
    return error  # type: ignore[no-any-return]


# --- authentication and roles -------------------------------------------------------------


def test_missing_invalid_and_revoked_tokens_are_401(plant: Plant) -> None:
    response = plant.client.get(API + "/jobs")
    assert_error(response, 401, "unauthenticated")
    assert response.headers["www-authenticate"] == "Bearer"
    bad = plant.client.get(API + "/jobs", headers={"Authorization": "Bearer mw_nope"})
    assert_error(bad, 401, "unauthenticated")
    basic = plant.client.get(API + "/jobs", headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert_error(basic, 401, "unauthenticated")
    UserStore(plant.database).revoke_token(plant.tokens["viewer"])
    assert_error(plant.get("/jobs"), 401, "unauthenticated")
    assert plant.client.get(API + "/health").json() == {"status": "ok", "database": True}


def test_roles_decide_who_may_write(plant: Plant) -> None:
    seed_machines(plant.database)
    assert_error(plant.post("/jobs", job_body(), role="viewer"), 403, "forbidden")
    assert_error(plant.post("/jobs", job_body(), role="maintenance"), 403, "forbidden")
    assert_error(plant.post("/schedules", {}, role="viewer"), 403, "forbidden")
    assert plant.post("/jobs", job_body(), role="admin").status_code == 201
    started = plant.post("/jobs/J1/operations/0/start", {"machine": "M1"}, role="maintenance")
    assert started.status_code == 200
    assert_error(plant.post("/jobs/J1/operations/0/finish", {}, role="viewer"), 403, "forbidden")
    assert plant.get("/jobs/J1").status_code == 200  # any user reads


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "loc"),
    [
        ({"due_at": (NOW - timedelta(hours=1)).isoformat()}, "body"),
        ({"release_at": "2030-01-07T06:00:00"}, "body.release_at"),  # naive datetime
        ({"external_id": ""}, "body.external_id"),
        ({"external_id": "x" * 65}, "body.external_id"),
        ({"weight": -1}, "body.weight"),
        ({"surprise": 1}, "body.surprise"),
        ({"operations": []}, "body.operations"),
        (
            {"operations": [{"seq": 1, "options": [{"machine": "M1", "duration_s": 5}]}]},
            "body",
        ),
        (
            {"operations": [{"seq": 0, "options": [{"machine": "M1", "duration_s": 0}]}]},
            "body.operations.0.options.0.duration_s",
        ),
    ],
)
def test_invalid_jobs_are_422_with_the_field(plant: Plant, change: dict, loc: str) -> None:
    seed_machines(plant.database)
    error = assert_error(plant.post("/jobs", job_body(**change)), 422, "validation_error")
    assert error["details"][0]["loc"] == loc
    assert plant.database.execute("SELECT count(*) FROM jobs") == [(0,)]


def test_unknown_machine_is_422_naming_where(plant: Plant) -> None:
    seed_machines(plant.database, ("M1", "M2"))
    error = assert_error(plant.post("/jobs", job_body()), 422, "validation_error")
    assert error["details"] == [
        {
            "loc": "body.operations.1.options.1.machine",
            "message": "no machine named 'M3'",
            "type": "unknown_machine",
        }
    ]


def test_malformed_json_unknown_route_and_oversized_body(plant: Plant) -> None:
    bad = plant.client.post(
        API + "/jobs",
        content=b"{not json",
        headers=plant.headers("planner", **{"Content-Type": "application/json"}),
    )
    assert_error(bad, 422, "validation_error")
    assert_error(plant.get("/nowhere"), 404, "not_found")
    huge = job_body(operations=[
        {"seq": i, "name": "n" * 150, "options": [{"machine": "M1", "duration_s": 1}]}
        for i in range(60)
    ])  # fmt: skip
    assert_error(plant.post("/jobs", huge), 413, "payload_too_large")


# --- idempotency --------------------------------------------------------------------------


def test_idempotency_key_replays_and_refuses_a_different_body(plant: Plant) -> None:
    seed_machines(plant.database)
    first = plant.post("/jobs", job_body(), **{"Idempotency-Key": "order-1"})
    assert first.status_code == 201
    again = plant.post("/jobs", job_body(), **{"Idempotency-Key": "order-1"})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotency-replayed"] == "true"
    assert plant.database.execute("SELECT count(*) FROM jobs") == [(1,)]
    # Without the key the duplicate is a plain conflict.
    assert_error(plant.post("/jobs", job_body()), 409, "job_exists")
    other = plant.post("/jobs", job_body("J2"), **{"Idempotency-Key": "order-1"})
    assert_error(other, 409, "idempotency_key_reused")
    # Keys belong to their user: another user's same key is a new request.
    mine = plant.post("/schedules", {}, role="admin", **{"Idempotency-Key": "order-1"})
    assert mine.status_code == 202
    bad_key = plant.post("/schedules", {}, **{"Idempotency-Key": "has space"})
    assert_error(bad_key, 422, "validation_error")


def test_idempotent_schedule_request_is_queued_once(plant: Plant) -> None:
    first = plant.post("/schedules", {"time_limit_s": 2}, **{"Idempotency-Key": "k"})
    second = plant.post("/schedules", {"time_limit_s": 2}, **{"Idempotency-Key": "k"})
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert plant.database.execute("SELECT count(*) FROM schedules") == [(1,)]


# --- jobs lifecycle and shop floor --------------------------------------------------------


def test_job_lifecycle_update_cancel_and_routing(plant: Plant) -> None:
    seed_machines(plant.database)
    created = plant.post("/jobs", job_body()).json()
    assert created["status"] == "pending"
    assert [op["options"] for op in created["operations"]][1] == [
        {"machine": "M2", "duration_s": 1800},
        {"machine": "M3", "duration_s": 1800},
    ]
    later = (NOW + timedelta(hours=12)).isoformat()
    patch = plant.client.patch(
        API + "/jobs/J1", json={"due_at": later, "weight": 3}, headers=plant.headers("planner")
    )
    assert patch.status_code == 200 and patch.json()["weight"] == 3
    early = (NOW - timedelta(days=1)).isoformat()
    bad = plant.client.patch(
        API + "/jobs/J1", json={"due_at": early}, headers=plant.headers("planner")
    )
    assert_error(bad, 422, "validation_error")
    null = plant.client.patch(
        API + "/jobs/J1", json={"weight": None}, headers=plant.headers("planner")
    )
    assert_error(null, 422, "validation_error")
    routing = {"operations": [{"seq": 0, "options": [{"machine": "M2", "duration_s": 60}]}]}
    replaced = plant.client.put(
        API + "/jobs/J1/operations", json=routing, headers=plant.headers("planner")
    )
    assert [op["seq"] for op in replaced.json()["operations"]] == [0]
    edit = plant.client.patch(
        API + "/jobs/J1/operations/0", json={"name": "deburr"}, headers=plant.headers("planner")
    )
    assert edit.json()["operations"][0]["name"] == "deburr"
    listed = plant.get("/jobs", status="pending").json()
    assert listed["total"] == 1 and listed["items"][0]["external_id"] == "J1"
    cancelled = plant.post("/jobs/J1/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert plant.post("/jobs/J1/cancel").status_code == 200  # harmless twice
    assert_error(plant.post("/jobs/J1/operations/0/start", {"machine": "M2"}), 409, "job_closed")
    assert_error(plant.get("/jobs/NOPE"), 404, "job_not_found")


def test_shop_floor_start_and_finish(plant: Plant) -> None:
    seed_machines(plant.database)
    plant.post("/jobs", job_body())
    early = plant.post("/jobs/J1/operations/1/start", {"machine": "M2"}, role="maintenance")
    assert_error(early, 409, "predecessor_unfinished")
    wrong = plant.post("/jobs/J1/operations/0/start", {"machine": "M2"})
    assert_error(wrong, 422, "validation_error")
    started_at = datetime.now(UTC) - timedelta(minutes=20)
    start = plant.post(
        "/jobs/J1/operations/0/start", {"machine": "M1", "at": started_at.isoformat()}
    ).json()
    assert start["status"] == "in_progress"
    assert start["operations"][0]["machine"] == "M1"
    before = (started_at - timedelta(minutes=1)).isoformat()
    assert_error(
        plant.post("/jobs/J1/operations/0/finish", {"at": before}), 422, "validation_error"
    )
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert_error(
        plant.post("/jobs/J1/operations/0/finish", {"at": future}), 422, "validation_error"
    )
    assert (
        plant.post("/jobs/J1/operations/0/finish", {}).json()["operations"][0]["status"] == "done"
    )
    assert_error(plant.post("/jobs/J1/operations/0/finish", {}), 409, "operation_not_started")
    plant.post("/jobs/J1/operations/1/start", {"machine": "M3"}, role="maintenance")
    done = plant.post("/jobs/J1/operations/1/finish", {}, role="maintenance").json()
    assert done["status"] == "done"
    assert_error(plant.post("/jobs/J1/cancel"), 409, "job_closed")


# --- machines, schedules and the plan -----------------------------------------------------


def test_reschedule_to_plan_per_machine_and_per_job(plant: Plant) -> None:
    ids = seed_machines(plant.database)
    seed_risk(plant.database, ids["M3"], rul_low_hours=5)
    assert_error(plant.get("/plan"), 404, "no_current_plan")
    machines = plant.get("/machines").json()
    m3 = next(m for m in machines if m["name"] == "M3")
    assert m3["risk"]["rul_low_hours"] == 5
    assert m3["risk"]["predicted_failure_at"].startswith("2030-01-07T11:00")
    assert plant.get("/machines/M1").json()["risk"] is None
    assert plant.post("/jobs", job_body()).status_code == 201

    requested = plant.post("/schedules", {"time_limit_s": 3})
    assert requested.status_code == 202
    schedule_id: int = requested.json()["id"]
    assert requested.json()["state"] == "requested"
    claimed = service.claim_next(plant.database, "test")
    assert claimed == schedule_id
    service.solve_schedule(plant.database, CONFIG, claimed, now=NOW)  # the worker's step

    status = plant.get(f"/schedules/{schedule_id}").json()
    assert status["state"] == "done" and status["solver_status"] == "optimal"
    assert status["is_current"] and status["runtime_s"] > 0 and status["violations"] == []
    dispatch = plant.get("/plan/machines/M3").json()
    assert dispatch["schedule_id"] == schedule_id
    (maintenance,) = dispatch["items"]
    assert maintenance["kind"] == "maintenance" and maintenance["name"] == "maint-M3"
    assert maintenance["end_at"] <= "2030-01-07T11:00:00Z"
    assert maintenance["reason"]["risk"]["rul_low_hours"] == 5
    job = plant.get("/plan/jobs/J1").json()
    assert [(o["seq"], o["machine"]) for o in job["operations"]] == [(0, "M1"), (1, "M2")]
    assert "M3" in job["operations"][1]["reason"]["text"]
    assert job["lateness_minutes"] < 0
    whole = plant.get("/plan").json()
    assert [m["machine"] for m in whole["machines"]] == ["M1", "M2", "M3"]
    assert whole["jobs"][0]["job"] == "J1"
    assert_error(plant.get("/plan/machines/M9"), 404, "machine_not_found")
    assert_error(plant.get("/schedules/999"), 404, "schedule_not_found")
    assert len(plant.get("/schedules").json()) == 1


def test_alert_acknowledgement(plant: Plant) -> None:
    ids = seed_machines(plant.database, ("M1",))
    rows = plant.database.execute(
        "INSERT INTO alerts (machine_id, rule, severity, state, opened_at)"
        " VALUES (%s, 'rul_low', 'critical', 'open', now()) RETURNING id",
        (ids["M1"],),
    )
    alert_id = rows[0][0]
    assert_error(plant.post(f"/alerts/{alert_id}/ack", role="viewer"), 403, "forbidden")
    ack = plant.post(f"/alerts/{alert_id}/ack", role="maintenance")
    assert ack.status_code == 200 and ack.json()["acked_by"] == "maintenance"
    again = plant.post(f"/alerts/{alert_id}/ack", role="planner").json()
    assert again["acked_by"] == "maintenance"  # the first acknowledgement stands
    assert_error(plant.post("/alerts/424242/ack", role="maintenance"), 404, "alert_not_found")


def test_openapi_document_describes_auth_and_errors(plant: Plant) -> None:
    doc = plant.client.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
    post = doc["paths"]["/api/v1/jobs"]["post"]
    assert post["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "ErrorBody"
    )
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])


def test_public_api_is_pinned() -> None:
    import api

    assert api.__all__ == ["create_app"]
