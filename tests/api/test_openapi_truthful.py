"""The OpenAPI document says what the server does (issue #17, item 6).

- a 405 names every method the path serves in ``Allow``;
- numbers are JSON numbers: ``true`` or ``"2"`` is refused where the document says number;
- an empty PATCH is refused, and the document says so with ``minProperties: 1``.
"""

from __future__ import annotations

from typing import Any

import pytest

from millwright.app.settings import Settings
from millwright.app.web import mes_api
from tests.api.test_api import Plant, assert_error, job_body, plant  # noqa: F401
from tests.scheduler.plant import seed_machines


@pytest.fixture
def seeded(plant: Plant) -> Plant:  # noqa: F811
    seed_machines(plant.database)
    assert plant.post("/jobs", job_body()).status_code == 201
    return plant


def _call(client: Plant, method: str, path: str, body: Any = None) -> Any:
    headers = client.headers("admin")
    return client.client.request(method, "/api/v1" + path, json=body, headers=headers)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/jobs/J1", "GET, PATCH"),
        ("DELETE", "/jobs/J1", "GET, PATCH"),
        ("OPTIONS", "/schedules", "GET, POST"),
        ("PUT", "/jobs", "GET, POST"),
        ("OPTIONS", "/jobs/J1/operations/0", "PATCH"),
        ("GET", "/jobs/J1/cancel", "POST"),
    ],
)
def test_a_405_lists_every_method_of_the_path(
    seeded: Plant, method: str, path: str, allowed: str
) -> None:
    response = _call(seeded, method, path)
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == allowed
    document = mes_api(Settings(), None).openapi()  # type: ignore[arg-type]
    template = {"/jobs/J1": "/jobs/{external_id}", "/jobs/J1/operations/0":
                "/jobs/{external_id}/operations/{seq}", "/jobs/J1/cancel":
                "/jobs/{external_id}/cancel"}.get(path, path)  # fmt: skip
    documented = sorted(m.upper() for m in document["paths"]["/api/v1" + template])
    assert ", ".join(documented) == allowed


@pytest.mark.parametrize(
    "patch",
    [{"value": False}, {"weight": True}, {"value": "2"}, {"weight": None}, {"value": [1]}],
)
def test_numbers_are_json_numbers(seeded: Plant, patch: dict[str, Any]) -> None:
    response = _call(seeded, "PATCH", "/jobs/J1", patch)
    error = assert_error(response, 422, "validation_error")
    assert error["details"][0]["loc"] == f"body.{next(iter(patch))}"
    assert _call(seeded, "GET", "/jobs/J1").json()["value"] == 1.0


def test_integers_and_numbers_in_bodies_refuse_booleans(seeded: Plant) -> None:
    body = job_body("J2")
    body["operations"][0]["options"][0]["duration_s"] = True
    assert_error(seeded.post("/jobs", body), 422, "validation_error")
    body = job_body("J3", weight="1.5")
    assert_error(seeded.post("/jobs", body), 422, "validation_error")
    body = job_body("J4", weight=2, value=3.0)
    body["operations"][0]["options"][0]["duration_s"] = 600.0  # an integer in JSON terms
    created = seeded.post("/jobs", body)
    assert created.status_code == 201, created.text
    assert created.json()["operations"][0]["options"][0]["duration_s"] == 600
    assert_error(seeded.post("/schedules", {"time_limit_s": False}), 422, "validation_error")


def test_an_empty_patch_is_refused_and_documented_so(seeded: Plant) -> None:
    assert_error(_call(seeded, "PATCH", "/jobs/J1", {}), 422, "validation_error")
    assert_error(_call(seeded, "PATCH", "/jobs/J1/operations/0", {}), 422, "validation_error")
    schemas = mes_api(Settings(), None).openapi()["components"]["schemas"]  # type: ignore[arg-type]
    assert schemas["JobUpdate"]["minProperties"] == 1
    assert schemas["OperationUpdate"]["minProperties"] == 1
    assert "unknown_machine" in schemas["OptionIn"]["properties"]["machine"]["description"]


def test_the_document_uses_only_json_schema_bounds() -> None:
    """pydantic's own gt/ge/lt/le must never leak in place of minimum/maximum keywords."""
    document = mes_api(Settings(), None).openapi()  # type: ignore[arg-type]

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "type" in node and node.get("type") in ("number", "integer"):
                assert not {"gt", "ge", "lt", "le"} & set(node), where
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}.{i}")

    walk(document, "")
    limit = document["components"]["schemas"]["ScheduleRequest"]["properties"]["time_limit_s"]
    assert limit["anyOf"][0] == {"type": "number", "exclusiveMinimum": 0, "maximum": 600}
