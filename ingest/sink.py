"""The pipeline's way into the database: readings, machine events and machine status.

A small interface so the pipeline can be tested with a sink that fails on demand, and so a
second protocol (OPC-UA) writes through exactly the same code. Every method raises
:class:`~millwright.core.storage.DatabaseUnavailable` when the database cannot be reached; that is
what sends batches to the store-and-forward buffer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Protocol

from ingest.records import MachineEvent, StatusChange
from millwright.core.storage import Database, ReadingColumns, ReadingsWriter, WriteResult


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
        return self.writer.write(columns)

    def record_events(self, events: Sequence[MachineEvent]) -> None:
        if not events:
            return
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

    def set_statuses(self, changes: Sequence[StatusChange]) -> None:
        if not changes:
            return
        ids = {c.machine: self.writer.sources.machine_id(c.machine) for c in changes}
        with self._database.connection() as conn, conn.cursor() as cur:
            cur.executemany(
                "UPDATE machines SET status = %s, status_since = %s"
                " WHERE id = %s AND (status_since <= %s OR status_since = created_at)",
                [(c.status, c.ts, ids[c.machine], c.ts) for c in changes],
            )
