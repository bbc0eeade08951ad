"""One JSON shape for every error the API returns, and the exceptions that produce it.

Every 4xx and 5xx body is ``{"error": {"code": ..., "message": ..., "details": [...]}}``:
`code` is a stable snake_case word a client can branch on, `message` is for people, and
`details` lists each offending field (`loc` as a dotted path such as
``body.operations.1.options.0.machine``) with what was wrong.

Exceptions (raised by the plain functions behind the routes)::

    ApiError                 status + code + message + details
    ├── NotFound             404
    ├── Conflict             409 (the resource is in a state that forbids the change)
    └── Invalid              422 (well-formed input that refers to something that is not there)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from millwright.core.storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    loc: str = Field(description="Where: a dotted path into the request, e.g. body.due_at.")
    message: str
    type: str = Field(description="A machine-readable kind, e.g. missing or value_error.")


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable snake_case error code.")
    message: str
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorInfo


class ApiError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.details = details or []


class NotFound(ApiError):
    status = 404
    code = "not_found"


class Conflict(ApiError):
    status = 409
    code = "conflict"


class Invalid(ApiError):
    status = 422
    code = "validation_error"


_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[dict[str, str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(body, status_code=status, headers=dict(headers) if headers else None)


def _loc(parts: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in parts)


def validation_details(errors: Any) -> list[dict[str, str]]:
    """Pydantic's errors as `details`, without echoing the (possibly huge) input back."""
    return [
        {"loc": _loc(e.get("loc", ())), "message": str(e.get("msg", "")), "type": e.get("type", "")}
        for e in errors
    ]


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = validation_details(exc.errors())
    first = details[0] if details else None
    message = f"{first['loc']}: {first['message']}" if first else "the request is not valid"
    if len(details) > 1:
        message += f" (and {len(details) - 1} more)"
    return error_response(422, "validation_error", message, details)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.details)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = dict(exc.headers or {})
    allowed = allowed_methods(request) if exc.status_code == 405 else []
    if allowed:
        headers["Allow"] = ", ".join(allowed)
        message = f"{request.method} is not allowed here; use {' or '.join(allowed)}"
    return error_response(exc.status_code, code, message, headers=headers or None)


def allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI document gives this path (FastAPI makes one route per method,
    and Starlette's 405 names only the first route's)."""
    table = getattr(request.app.state, "allowed_methods", None)
    if table is None:
        table = []
        for template, operations in request.app.openapi().get("paths", {}).items():
            parts = re.split(r"\{[^}/]+\}", template)
            pattern = "[^/]+".join(re.escape(part) for part in parts)
            methods = sorted(m.upper() for m in operations if m.upper() in _METHODS)
            table.append((re.compile(f"^{pattern}$"), methods))
        request.app.state.allowed_methods = table
    path = request.url.path
    return next((methods for regex, methods in table if regex.match(path)), [])


_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"})


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", exc)
    return error_response(
        503,
        "unavailable",
        "the database is unavailable; retry shortly",
        headers={"Retry-After": "5"},
    )


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "an internal error occurred; it was logged")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(DatabaseUnavailable, _unavailable)
    app.add_exception_handler(Exception, _internal)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries documenting the error body for these statuses."""
    return {s: {"model": ErrorBody, "description": _STATUS_CODES.get(s, "error")} for s in statuses}
