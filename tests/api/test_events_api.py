"""The events API: accept, list and idempotently repeat events; a downtime posted here makes
the next plan leave its window empty; a future downtime can be withdrawn (issue #19, item 4)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from scheduler import service
from tests.api.test_api import Plant, assert_error, job_body, plant  # noqa: F401
from tests.scheduler.plant import CONFIG, NOW, seed_machines


def _iso(hours: float) -> str:
    return (NOW + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def _delete(client: Plant, path: str, role: str = "maintenance") -> Any:
    return client.client.delete("/api/v1" + path, headers=client.headers(role))


def _solve(client: Plant) -> dict[str, Any]:
    claimed = service.claim_next(client.database, "test")
    assert claimed is not None
    service.solve_schedule(client.database, CONFIG, claimed, now=NOW)
    return client.get("/plan/machines/M1").json()  # type: ignore[no-any-return]


def test_events_are_accepted_listed_and_repeated_once(plant: Plant) -> None:  # noqa: F811
    seed_machines(plant.database)
    failure = {"machine": "M2", "kind": "failure", "ts": _iso(-5), "component": "spindle",
               "work_order": "WO-1", "note": "bearing seized"}  # fmt: skip
    first = plant.post("/events", failure, role="maintenance", **{"Idempotency-Key": "ev-1"})
    assert first.status_code == 201, first.text
    (stored,) = first.json()
    assert stored["created"] is True and stored["kind"] == "failure"
    assert stored["component"] == "spindle" and stored["source"] == "api"
    replay = plant.post("/events", failure, role="maintenance", **{"Idempotency-Key": "ev-1"})
    assert replay.headers["Idempotency-Replayed"] == "true" and replay.json() == first.json()
    again = plant.post("/events", {**failure, "note": "seized, confirmed"}, role="maintenance")
    assert again.json()[0]["created"] is False and again.json()[0]["id"] == stored["id"]

    batch = [
        {"machine": "M2", "kind": "repair", "ts": _iso(-2), "work_order": "WO-2"},
        {"machine": "M3", "kind": "inspection", "ts": _iso(-1)},
        {"machine": "M1", "kind": "maintenance", "ts": _iso(-30), "end": _iso(-28)},
    ]
    created = plant.post("/events", batch, role="planner")
    assert created.status_code == 201 and [e["created"] for e in created.json()] == [True] * 3
    assert plant.database.execute("SELECT count(*) FROM events") == [(4,)]
    # a new failure queued one replan; the batch (no failure, no downtime) none more
    assert plant.database.execute("SELECT count(*) FROM schedules") == [(1,)]

    listed = plant.get("/events").json()
    assert [(e["machine"], e["kind"]) for e in listed] == [
        ("M1", "maintenance"), ("M2", "failure"), ("M2", "repair"), ("M3", "inspection"),
    ]  # fmt: skip
    assert listed[1]["note"] == "seized, confirmed"
    only = plant.get("/events", machine="M2", kind="repair")
    assert [e["work_order"] for e in only.json()] == ["WO-2"]
    window = plant.get("/events", **{"from": _iso(-6), "to": _iso(-1)}).json()
    assert [e["kind"] for e in window] == ["failure", "repair"]

    assert_error(plant.post("/events", failure, role="viewer"), 403, "forbidden")
    unknown = plant.post("/events", [failure, {**failure, "machine": "M9"}], role="planner")
    error = assert_error(unknown, 422, "validation_error")
    assert error["details"] == [
        {"loc": "body.1.machine", "message": "no machine named 'M9'", "type": "unknown_machine"}
    ]
    backwards = {"machine": "M1", "kind": "maintenance", "ts": _iso(2), "end": _iso(1)}
    assert_error(plant.post("/events", backwards), 422, "validation_error")
    assert_error(plant.post("/events", {"machine": "M1", "kind": "downtime", "ts": _iso(1)}),
                 422, "validation_error")  # fmt: skip
    assert_error(plant.post("/events", {**failure, "kind": "explosion"}), 422, "validation_error")
    assert_error(plant.post("/events", []), 422, "validation_error")


def test_a_posted_downtime_keeps_the_next_plan_off_the_machine(plant: Plant) -> None:  # noqa: F811
    seed_machines(plant.database)
    assert plant.post("/jobs", job_body()).status_code == 201  # released at NOW, M1 first
    stop = {"start": _iso(0), "expected_end": _iso(2), "reason": "hydraulic leak"}
    posted = plant.post("/machines/M1/downtime", stop, role="maintenance")
    assert posted.status_code == 201, posted.text
    downtime = posted.json()
    assert downtime["expected"] is True and downtime["machine"] == "M1"
    # the breakdown queued the replan itself; without it the step would start at NOW
    after = _solve(plant)
    (step,) = after["items"]
    assert step["start_at"] == _iso(2)
    (event,) = plant.get("/events", kind="downtime").json()
    assert (event["ts"], event["end"]) == (_iso(0), _iso(2))
    assert event["downtime_id"] == downtime["id"]

    assert_error(plant.post("/machines/M9/downtime", stop), 404, "machine_not_found")
    assert_error(plant.post("/machines/M1/downtime", {"start": _iso(0)}), 422, "validation_error")
    both = {**stop, "end": _iso(3)}
    assert_error(plant.post("/machines/M1/downtime", both), 422, "validation_error")


def test_only_a_future_downtime_can_be_withdrawn(plant: Plant) -> None:  # noqa: F811
    seed_machines(plant.database)
    planned = plant.post("/machines/M2/downtime", {"start": _iso(4), "end": _iso(6)}).json()
    past = plant.post(
        "/machines/M2/downtime", {"start": "2020-01-01T00:00:00Z", "end": "2020-01-01T04:00:00Z"}
    ).json()
    assert_error(_delete(plant, f"/machines/M2/downtime/{past['id']}"), 409, "downtime_started")
    assert_error(_delete(plant, f"/machines/M1/downtime/{planned['id']}"), 404,
                 "downtime_not_found")  # fmt: skip
    assert_error(_delete(plant, f"/machines/M2/downtime/{planned['id']}", role="viewer"), 403,
                 "forbidden")  # fmt: skip
    assert _delete(plant, f"/machines/M2/downtime/{planned['id']}").status_code == 204
    assert plant.database.execute("SELECT count(*) FROM machine_downtime") == [(1,)]
    assert [e["ts"] for e in plant.get("/events", kind="downtime").json()] == [
        "2020-01-01T00:00:00Z"
    ]
    assert_error(_delete(plant, f"/machines/M2/downtime/{planned['id']}"), 404,
                 "downtime_not_found")  # fmt: skip
