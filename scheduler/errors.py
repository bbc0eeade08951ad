"""The scheduler's errors: what an order (job) change refused, for the API to translate.

::

    SchedulerError
    └── OrderError            code (stable snake_case) + message for people
        ├── OrderNotFound     no such job, or no such step of it
        ├── OrderConflict     the job or step is in a state that forbids the change
        └── OrderInvalid      well-formed input naming something that is not there or
                              cannot be (details: each offending field)
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "FieldProblem",
    "OrderConflict",
    "OrderError",
    "OrderInvalid",
    "OrderNotFound",
    "SchedulerError",
]


class SchedulerError(Exception):
    """Base of the scheduler's own errors."""


@dataclass(frozen=True)
class FieldProblem:
    """One offending input field: ``loc`` a dotted path (``operations.1.options.0.machine``)."""

    loc: str
    message: str
    kind: str = "value_error"


class OrderError(SchedulerError):
    code = "order_error"

    def __init__(
        self, message: str, *, code: str | None = None, details: list[FieldProblem] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.code
        self.details = details or []


class OrderNotFound(OrderError, LookupError):
    code = "not_found"


class OrderConflict(OrderError):
    code = "conflict"


class OrderInvalid(OrderError, ValueError):
    code = "invalid"
