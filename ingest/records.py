"""Small records the pipeline carries besides readings: dead letters, events, status changes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

EVENT_KINDS = frozenset({"failure", "repair", "maintenance", "error", "gap", "offline", "online"})
MACHINE_STATUSES = frozenset({"running", "down", "maintenance", "offline"})


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message the collector could not turn into readings, kept for people to inspect."""

    source: str
    topic: str | None
    payload: bytes
    reason: str
    received_at: datetime

    def __post_init__(self) -> None:
        if not self.reason:
            raise ValueError("a dead letter needs a reason.")
        if self.received_at.tzinfo is None:
            raise ValueError("a dead letter's received_at must be timezone-aware.")


@dataclass(frozen=True, slots=True)
class MachineEvent:
    """A row for the ``events`` table, e.g. a sequence gap or a machine going offline."""

    machine: str
    kind: str
    ts: datetime
    source: str
    ends_at: datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"event kind {self.kind!r} is not one of {sorted(EVENT_KINDS)}.")
        if not self.machine:
            raise ValueError("an event needs a machine name.")
        if self.ts.tzinfo is None:
            raise ValueError("an event's ts must be timezone-aware.")


@dataclass(frozen=True, slots=True)
class StatusChange:
    """``machines.status`` becomes ``status`` as of ``ts`` (an older change never wins)."""

    machine: str
    status: str
    ts: datetime

    def __post_init__(self) -> None:
        if self.status not in MACHINE_STATUSES:
            raise ValueError(
                f"machine status {self.status!r} is not one of {sorted(MACHINE_STATUSES)}."
            )
        if self.ts.tzinfo is None:
            raise ValueError("a status change's ts must be timezone-aware.")
