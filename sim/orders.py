"""Maintenance orders arriving as JSON (MQTT command topic, later the API): parsed at the edge.

Accepted shape::

    {"machine": "m-003", "planned_at": "2024-03-01T08:00:00Z",
     "order_id": "wo-17", "duration_hours": 4}

``order_id`` and ``duration_hours`` are optional. Bad payloads raise :class:`OrderPayloadError`
with a message naming the problem; callers log and skip them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sim.errors import SimError
from sim.records import MaintenanceOrder


class OrderPayloadError(SimError, ValueError):
    """A maintenance order payload is not valid JSON of the expected shape."""


class MaintenanceOrderIn(BaseModel):
    """The wire schema of a maintenance order."""

    model_config = ConfigDict(extra="forbid")

    machine: str = Field(min_length=1)
    planned_at: datetime
    order_id: str | None = None
    duration_hours: float | None = Field(default=None, gt=0)

    @field_validator("planned_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("planned_at needs a timezone, e.g. 2024-03-01T08:00:00Z")
        return value.astimezone(UTC)

    def to_order(self) -> MaintenanceOrder:
        duration = None if self.duration_hours is None else timedelta(hours=self.duration_hours)
        return MaintenanceOrder(self.machine, self.planned_at, self.order_id or "", duration)


def parse_order(payload: bytes | str) -> MaintenanceOrder:
    """Parse one JSON maintenance order, or raise :class:`OrderPayloadError`."""
    try:
        return MaintenanceOrderIn.model_validate_json(payload).to_order()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in exc.errors()
        )
        raise OrderPayloadError(f"invalid maintenance order: {problems}") from None
