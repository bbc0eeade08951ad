"""What every router shares: the database dependency, documented errors, path parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Path, Request

from api.errors import error_responses
from api.idempotency import HEADER, KEY_PATTERN
from api.schemas import MAX_OPERATIONS
from millwright.core.storage.database import Database

BIGINT = 2**63 - 1
# Every route may answer these; documenting them keeps OpenAPI-driven clients and tests honest.
ERRORS = error_responses(400, 401, 403, 404, 409, 413, 422, 503)


def database(request: Request) -> Database:
    return request.app.state.database  # type: ignore[no-any-return]


def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            pattern=KEY_PATTERN,
            description="Retry-safe POST: the same key and body replay the first response.",
        ),
    ] = None,
) -> str | None:
    """Documents the header; the Idempotency middleware does the work."""
    return key


DB = Annotated[Database, Depends(database)]
IdempotencyKey = Depends(idempotency_key)
ExternalIdPath = Annotated[
    str,
    Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$",
         description="The job's external id."),
]  # fmt: skip
SeqPath = Annotated[int, Path(ge=0, lt=MAX_OPERATIONS, description="Step of the job.")]
MachinePath = Annotated[str, Path(min_length=1, max_length=128, description="Machine name.")]
IdPath = Annotated[int, Path(ge=1, le=BIGINT)]
