"""Dead letters: messages the collector could not use, stored for people with the reason.

Payloads are cut to ``max_payload_bytes`` before they are kept anywhere, so a 10 MB garbage
message costs a bounded row, not 10 MB of database and buffer space.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from ingest.records import DeadLetter
from millwright.core.storage import Database

log = logging.getLogger(__name__)

DEFAULT_MAX_STORED_PAYLOAD = 64 * 1024


class DeadLetterSink(Protocol):
    """Where dead letters go; raises DatabaseUnavailable when it cannot take them now."""

    def write(self, letters: Sequence[DeadLetter]) -> None: ...


class DatabaseDeadLetters:
    """Writes dead letters to the ``dead_letters`` table in one round trip per batch."""

    def __init__(self, database: Database) -> None:
        self._database = database

    def write(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        with self._database.connection() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO dead_letters (received_at, source, topic, payload, reason)"
                " VALUES (%s, %s, %s, %s, %s)",
                [(d.received_at, d.source, d.topic, d.payload, d.reason) for d in letters],
            )


def read_dead_letters(database: Database, *, source: str | None = None) -> list[DeadLetter]:
    """Stored dead letters, oldest first (for tests, the CLI and people)."""
    rows = database.execute(
        "SELECT source, topic, payload, reason, received_at FROM dead_letters"
        " WHERE %(source)s::text IS NULL OR source = %(source)s ORDER BY id",
        {"source": source},
    )
    return [DeadLetter(r[0], r[1], bytes(r[2] or b""), r[3], r[4]) for r in rows]
