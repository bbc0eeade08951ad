"""What happened, as the outcome figures read it: stops, alerts, planned maintenance, orders
and the parts failures scrapped.

Frozen records validated on construction; :mod:`outcomes.store` reads them from the database
(events, alerts, plans, jobs), the plant evaluation can build them from its own run.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


def _aware(value: datetime, what: str) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{what} must be timezone-aware, got {value.isoformat()}.")


class StopKind(enum.StrEnum):
    FAILURE = "failure"
    MAINTENANCE = "maintenance"


@dataclass(frozen=True)
class Stop:
    """A machine stopped from ``start`` to ``end``: an unplanned failure (until repaired) or a
    planned maintenance; ``found_wear`` says the maintenance found wear (a true alarm)."""

    machine: str
    line: str
    kind: StopKind
    start: datetime
    end: datetime
    found_wear: bool = False

    def __post_init__(self) -> None:
        _aware(self.start, "stop start")
        _aware(self.end, "stop end")
        if self.end < self.start:
            raise ValueError(f"stop of {self.machine} ends before it starts ({self.start}).")

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600.0


@dataclass(frozen=True)
class AlertRecord:
    """An alert episode on a machine, opened at ``opened_at``."""

    machine: str
    line: str
    opened_at: datetime
    severity: str = "warning"

    def __post_init__(self) -> None:
        _aware(self.opened_at, "alert opened_at")


@dataclass(frozen=True)
class PlannedTask:
    """A risk-driven maintenance task a plan made at ``planned_at`` placed at ``start``."""

    machine: str
    line: str
    planned_at: datetime
    start: datetime

    def __post_init__(self) -> None:
        _aware(self.planned_at, "planned task planned_at")
        _aware(self.start, "planned task start")


@dataclass(frozen=True)
class OrderRecord:
    """An order, due at ``due_at``, finished at ``finished_at`` (None while open)."""

    order: str
    due_at: datetime
    finished_at: datetime | None
    lines: tuple[str, ...] = ()
    machines: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _aware(self.due_at, "order due_at")
        if self.finished_at is not None:
            _aware(self.finished_at, "order finished_at")


@dataclass(frozen=True)
class ScrapRecord:
    """A part lost with a failure: an operation under way on the machine when it failed,
    ``processed_minutes`` into its processing."""

    machine: str
    line: str
    at: datetime
    processed_minutes: float
    order: str = ""

    def __post_init__(self) -> None:
        _aware(self.at, "scrap at")
        if self.processed_minutes < 0:
            raise ValueError(f"scrap on {self.machine}: processed minutes must be >= 0.")


@dataclass(frozen=True)
class History:
    """Everything the figures need for one period, with the machines and their lines."""

    machines: dict[str, str]
    """machine → line"""
    stops: tuple[Stop, ...] = ()
    alerts: tuple[AlertRecord, ...] = ()
    planned: tuple[PlannedTask, ...] = ()
    orders: tuple[OrderRecord, ...] = ()
    scrapped: tuple[ScrapRecord, ...] = ()
