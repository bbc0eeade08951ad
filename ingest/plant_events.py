"""Plant events over MQTT (``{prefix}/events/{machine}``, format ``events``) for shop-floor
systems: the body of ``POST /api/v1/events`` — one object or a list — stored through the
same event writer as the API and ``millwright import events``.

Per event, as the collector treats readings: a bad one (wrong shape, unknown kind, an end
before its start, a machine that is not registered, a value the database refuses) is
dead-lettered with its reason and the good ones beside it are stored. The message is
acknowledged only once every event in it is stored or dead-lettered, so a collector that
dies first gets it again, and the writer makes the repeat a no-op (the same work order, or
the same machine, kind, time and source, is one event). While the database is down events
wait unacknowledged in memory and are retried. A stored failure or downtime queues a
replan, as the API's do.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Literal, Protocol

import psycopg
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
    model_validator,
)

from ingest.names import InvalidName, check_name
from millwright.core.storage import (
    Database,
    DatabaseUnavailable,
    DataRejected,
    translate_error,
)
from millwright.core.storage.events import (
    EventError,
    PlantEvent,
    StoredEvent,
    UnknownMachine,
    write_events,
)
from millwright.core.storage.replans import queue_replan

log = logging.getLogger(__name__)

__all__ = ["EventMessage", "EventsWriter", "decode_events"]

REPLAN_KINDS = frozenset({"failure", "downtime"})
_TEXT = Annotated[str, StringConstraints(min_length=1, max_length=500)]
_NAME = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Ack = Callable[[], object] | None


class _EventIn(BaseModel):
    """``api.schemas.EventCreate``'s shape; ``machine`` may come from the topic instead."""

    model_config = ConfigDict(extra="forbid")

    machine: _NAME | None = None
    kind: Literal["failure", "repair", "maintenance", "inspection", "downtime"]
    ts: AwareDatetime
    end: AwareDatetime | None = None
    component: _TEXT | None = None
    work_order: _NAME | None = None
    note: _TEXT | None = None

    @model_validator(mode="after")
    def _consistent(self) -> _EventIn:
        if self.end is not None and self.end < self.ts:
            raise ValueError("end must not be before ts")
        if self.kind == "downtime" and (self.end is None or self.end <= self.ts):
            raise ValueError("a downtime needs an end after its ts")
        return self


@dataclass(frozen=True)
class Rejected:
    """One event of a message that cannot be stored, with why."""

    index: int
    body: bytes
    reason: str


@dataclass(frozen=True)
class EventMessage:
    """A decoded message: its storable events (with their index in the body) and rejects."""

    events: list[tuple[int, PlantEvent]]
    rejected: list[Rejected]
    is_list: bool = False  # the body was a list: reasons name "event <index>"

    def label(self, index: int) -> str:
        return f"event {index}" if self.is_list else "event"


def _reason(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


def decode_events(payload: bytes, topic_machine: str | None, source: str) -> EventMessage:
    """Parse and validate; never raises for bad input (reasons name the event's index)."""
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return EventMessage([], [Rejected(0, payload, f"payload is not JSON: {exc}")])
    items = body if isinstance(body, list) else [body]
    if not items:
        return EventMessage([], [Rejected(0, payload, "an empty list of events")])
    events: list[tuple[int, PlantEvent]] = []
    rejected: list[Rejected] = []
    for i, item in enumerate(items):
        raw = json.dumps(item, ensure_ascii=False).encode("utf-8", "replace")
        label = f"event {i}" if isinstance(body, list) else "event"  # as EventMessage.label
        try:
            parsed = _EventIn.model_validate(item)
        except ValidationError as exc:
            rejected.append(Rejected(i, raw, f"{label}: {_reason(exc)}"))
            continue
        machine = parsed.machine or topic_machine
        if machine is None:
            rejected.append(Rejected(i, raw, f"{label}: no machine (topic or body)"))
            continue
        if topic_machine is not None and parsed.machine not in (None, topic_machine):
            reason = f"{label}: machine {parsed.machine!r} differs from the topic's"
            rejected.append(Rejected(i, raw, f"{reason} {topic_machine!r}"))
            continue
        try:
            machine = check_name(machine, "machine")
            event = PlantEvent(
                machine=machine,
                kind=parsed.kind,
                ts=parsed.ts,
                ends_at=parsed.end,
                work_order=parsed.work_order,
                component=parsed.component,
                note=parsed.note,
                source=source,
            )
        except (InvalidName, EventError) as exc:
            rejected.append(Rejected(i, raw, f"{label}: {exc}"))
            continue
        events.append((i, event))
    return EventMessage(events, rejected, is_list=isinstance(body, list))


class DeadLetterSink(Protocol):
    """What the writer needs from the pipeline (``Pipeline.dead_letter``)."""

    def dead_letter(
        self, source: str, topic: str | None, payload: bytes, reason: str, on_committed: Ack
    ) -> None: ...


@dataclass
class _Job:
    topic: str
    message: EventMessage
    ack: Ack


class EventsWriter:
    """Stores decoded event messages on its own thread, in arrival order."""

    def __init__(
        self,
        database: Database,
        dead_letters: DeadLetterSink,
        source: str,
        *,
        retry_interval_s: float = 2.0,
    ) -> None:
        self._database = database
        self._dead_letters = dead_letters
        self._source = source
        self._retry_s = retry_interval_s
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stored = 0
        self.rejected = 0
        self.replans = 0

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"events-{self._source}")
        self._thread.daemon = True
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop after the current job; queued messages stay unacknowledged (redelivered)."""
        self._stop.set()
        self._jobs.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def submit(self, topic: str, message: EventMessage, ack: Ack) -> None:
        self._jobs.put(_Job(topic, message, ack))

    def _run(self) -> None:
        while not self._stop.is_set():
            job = self._jobs.get()
            if job is None:
                return
            while not self._stop.is_set():
                try:
                    self._write(job)
                    break
                except DatabaseUnavailable as exc:
                    log.warning("source %s: events wait for the database: %s", self._source, exc)
                    self._stop.wait(self._retry_s)
                except Exception:
                    log.exception("source %s: storing events failed", self._source)
                    self._dead_letter(job, [], "collector error (see logs)")
                    break

    def _write(self, job: _Job) -> None:
        rejected = list(job.message.rejected)
        stored: list[StoredEvent] = []
        events = job.message.events
        try:
            stored = self._store([e for _, e in events])
        except (UnknownMachine, DataRejected):
            # isolate: each event on its own, so one bad event cannot keep the rest out
            for index, event in events:
                try:
                    stored += self._store([event])
                except UnknownMachine:
                    reason = f"no machine named {event.machine!r} (registration is off)"
                    label = job.message.label(index)
                    rejected.append(Rejected(index, _body(event), f"{label}: {reason}"))
                except DataRejected as exc:
                    label = job.message.label(index)
                    rejected.append(Rejected(index, _body(event), f"{label}: {exc}"))
        self.stored += sum(1 for s in stored if s.created)
        if any(s.created and s.kind in REPLAN_KINDS for s in stored):
            queue_replan(self._database, f"mqtt:{self._source} (event)")
            self.replans += 1
        self._dead_letter(job, rejected, None)

    def _store(self, events: list[PlantEvent]) -> list[StoredEvent]:
        if not events:
            return []
        try:
            return write_events(self._database, events, register_unknown=False)
        except psycopg.Error as exc:
            translated = translate_error(exc)
            if isinstance(translated, DataRejected | DatabaseUnavailable):
                raise translated from exc
            raise

    def _dead_letter(self, job: _Job, rejected: Sequence[Rejected], reason: str | None) -> None:
        """Dead letters of the job; the message's ack rides on the last one (or goes now)."""
        letters = list(rejected)
        if reason is not None:
            letters = [Rejected(0, b"", reason)]
        self.rejected += len(letters)
        for k, letter in enumerate(letters):
            last = k == len(letters) - 1
            self._dead_letters.dead_letter(
                self._source, job.topic, letter.body, letter.reason, job.ack if last else None
            )
        if not letters and job.ack is not None:
            job.ack()


def _body(event: PlantEvent) -> bytes:
    return json.dumps(
        {
            "machine": event.machine,
            "kind": event.kind,
            "ts": event.ts.isoformat(),
            "end": event.ends_at.isoformat() if event.ends_at else None,
            "work_order": event.work_order,
        }
    ).encode()
