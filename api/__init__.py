"""The MES HTTP API of the scheduler (FastAPI, OpenAPI 3 at /openapi.json).

All routes live under /api/v1 and need ``Authorization: Bearer <token>`` except /health.

| method | path | role | what |
|---|---|---|---|
| GET | /health | none | liveness and database check |
| POST | /jobs | planner | submit a job with its routing (201) |
| GET | /jobs | any | list jobs (status, limit, offset) |
| GET | /jobs/{external_id} | any | one job with its steps |
| PATCH | /jobs/{external_id} | planner | change release, due, weight, value |
| POST | /jobs/{external_id}/cancel | planner | cancel job and unfinished steps |
| PUT | /jobs/{external_id}/operations | planner | replace the routing (nothing started) |
| PATCH | /jobs/{external_id}/operations/{seq} | planner | edit a pending step |
| POST | /jobs/{external_id}/operations/{seq}/cancel | planner | skip a pending step |
| POST | /jobs/{external_id}/operations/{seq}/start | planner, maintenance | step started |
| POST | /jobs/{external_id}/operations/{seq}/finish | planner, maintenance | step finished |
| GET | /machines, /machines/{name} | any | machines and their latest risk |
| POST | /schedules | planner | request a (re)schedule (202) |
| GET | /schedules, /schedules/{id} | any | follow a request: state, status, objective |
| GET | /plan | any | the current plan, by machine and by job |
| GET | /plan/machines/{name} | any | one machine's dispatch list |
| GET | /plan/jobs/{external_id} | any | one job's steps, completion and lateness |
| POST | /alerts/{id}/ack | planner, maintenance | acknowledge a risk alert |
| POST | /events | planner, maintenance | record events, one or a batch (201) |
| GET | /events | any | events by machine, kind and [from, to) |
| POST | /machines/{name}/downtime | planner, maintenance | a breakdown or planned stop (201) |
| DELETE | /machines/{name}/downtime/{id} | planner, maintenance | withdraw a future downtime |

`admin` passes every role check. Errors: see `api.errors`; idempotency: see
`api.idempotency`.

The face: other packages import only the names in ``__all__`` (``from api import X``);
each is imported on first use (:mod:`millwright.core.face`).
"""

import typing

import millwright.core.face as _face

if typing.TYPE_CHECKING:
    from api.app import create_app

_FACE = {
    "create_app": "api.app",
}

__all__ = [
    "create_app",
]

__getattr__, __dir__ = _face.lazy_face(__name__, _FACE)
