"""The pipeline's way into the database: readings, machine events and machine status.

A small interface so the pipeline can be tested with a sink that fails on demand, and so a
second protocol (OPC-UA) writes through exactly the same code. Every method raises
:class:`~millwright.core.storage.DatabaseUnavailable` when the database cannot work now (that
sends batches to the store-and-forward buffer) and
:class:`~millwright.core.storage.DataRejected` when it refused the data (that makes the
pipeline isolate the refused rows and dead-letter them): the SQLSTATE decides which.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from ingest.records import MachineEvent, StatusChange
from millwright.core.storage import (
    Database,
    ReadingColumns,
    ReadingsWriter,
    WriteResult,
    translate_error,
)

T = TypeVar("T")


def _translated(call: Callable[[], T]) -> T:
    """Run a database call, raising the storage error its failure stands for."""
    try:
        return call()
    except Exception as exc:
        translated = translate_error(exc)
        if translated is None or translated is exc:
            raise
        raise translated from exc


class ReadingSink(Protocol):
    """Where committed readings, events and status changes go."""

    def write(self, columns: ReadingColumns) -> WriteResult: ...

    def record_events(self, events: Sequence[MachineEvent]) -> None: ...

    def set_statuses(self, changes: Sequence[StatusChange]) -> None: ...


class DatabaseSink:
    """The real sink: the idempotent bulk writer plus two small parameterised statements."""

    def __init__(
        self, database: Database, *, register_unknown: bool = True, max_future_s: int = 86_400
    ) -> None:
        self._database = database
        self.writer = ReadingsWriter(
            database, register_unknown=register_unknown, max_future_s=max_future_s
        )

    def write(self, columns: ReadingColumns) -> WriteResult:
        return _translated(lambda: self.writer.write(columns))

    def record_events(self, events: Sequence[MachineEvent]) -> None:
        if events:
            _translated(lambda: self._record_events(events))

    def set_statuses(self, changes: Sequence[StatusChange]) -> None:
        if changes:
            _translated(lambda: self._set_statuses(changes))

    def _record_events(self, events: Sequence[MachineEvent]) -> None:
        ids = {e.machine: self.writer.sources.machine_id(e.machine) for e in events}
        with self._database.connection() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO events (ts, machine_id, kind, ends_at, source, details)"
                " VALUES (%s, %s, %s, %s, %s, %s::jsonb)"
                " ON CONFLICT (machine_id, kind, ts, source) DO NOTHING",
                [
                    (e.ts, ids[e.machine], e.kind, e.ends_at, e.source, json.dumps(e.details))
                    for e in events
                ],
            )

    def _set_statuses(self, changes: Sequence[StatusChange]) -> None:
        ids = {c.machine: self.writer.sources.machine_id(c.machine) for c in changes}
        with self._database.connection() as conn, conn.cursor() as cur:
            cur.executemany(
                "UPDATE machines SET status = %s, status_since = %s"
                " WHERE id = %s AND (status_since <= %s OR status_since = created_at)",
                [(c.status, c.ts, ids[c.machine], c.ts) for c in changes],
            )
