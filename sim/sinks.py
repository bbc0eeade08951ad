"""Where readings and events go: small protocols so the core never knows about the database.

The runner hands every sample batch to each :class:`ReadingSink` and every event batch to each
:class:`EventSink`. A sink may be synchronous (run in a worker thread, e.g. a psycopg writer or
the MQTT publisher) or ``async`` (awaited on the loop, e.g. the OPC-UA server).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Sequence
from typing import Protocol, runtime_checkable

from sim.records import Event, Sample

log = logging.getLogger(__name__)


@runtime_checkable
class ReadingSink(Protocol):
    """Receives every sample the plant produces, in time order."""

    def write_samples(self, samples: Sequence[Sample]) -> Awaitable[None] | None: ...


@runtime_checkable
class EventSink(Protocol):
    """Receives ground-truth events in time order (a DB-backed sink stores them)."""

    def write_events(self, events: Sequence[Event]) -> Awaitable[None] | None: ...


class RecordingSink:
    """Keeps everything in memory; for tests and for comparing adapters with the core."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.events: list[Event] = []

    def write_samples(self, samples: Sequence[Sample]) -> None:
        self.samples.extend(samples)

    def write_events(self, events: Sequence[Event]) -> None:
        self.events.extend(events)


class LoggingEventSink:
    """Logs ground-truth events, so a bare ``millwright sim`` shows what happens."""

    def write_events(self, events: Sequence[Event]) -> None:
        for e in events:
            until = f" until {e.ends_at.isoformat()}" if e.ends_at else ""
            log.info("%s %s %s/%s%s", e.ts.isoformat(), e.kind, e.line, e.machine, until)
