"""Dead letters: messages the collector could not use, stored for people with the reason.

Payloads are cut to ``max_payload_bytes`` before they are kept anywhere, so a 10 MB garbage
message costs a bounded row, not 10 MB of database and buffer space.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from ingest.records import DeadLetter
from millwright.core.storage import Database, translate_error

log = logging.getLogger(__name__)

DEFAULT_MAX_STORED_PAYLOAD = 64 * 1024
MAX_STORED_TEXT = 4096


def printable(text: str | None, limit: int = MAX_STORED_TEXT) -> str | None:
    """Text safe to store whatever it came from: lone surrogates and NUL escaped
    (``\\ud800``, ``\\x00``) and cut to ``limit`` characters, so a dead letter about a
    poisonous name can never be refused by the database for the same reason."""
    if text is None:
        return None
    if not text.isascii() or "\x00" in text:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
        try:
            self._write(letters)
        except Exception as exc:
            translated = translate_error(exc)
            if translated is None or translated is exc:
                raise
            raise translated from exc

    def _write(self, letters: Sequence[DeadLetter]) -> None:
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
