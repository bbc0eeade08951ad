"""Storage errors, translated from psycopg at the boundary so callers see Millwright's own.

StorageError
├── DatabaseUnavailable   the server cannot be reached or cannot work now (retry later;
│                         buffers take over): SQLSTATE class 08, 53, 57P0x, 58, 40001/40P01,
│                         pool timeouts, lost connections
├── DataRejected          the server (or the driver) refused the data itself: SQLSTATE class
│                         22, 23, 54, 42804…, NUL bytes, lone surrogates; retrying the same
│                         rows fails the same way, so they must be isolated, not retried
├── MigrationError        a migration failed or the schema is newer than this code
│   └── SchemaBehind      the database needs `millwright db upgrade` before services start
└── UnknownSourceError    a machine or sensor is unknown and registration is off

The split is by SQLSTATE class, not by psycopg exception type: psycopg files "program limit
exceeded" (54000, a name too long for an index) under ``OperationalError`` like a dropped
connection, yet only the second one goes away by waiting.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every storage failure."""


class DatabaseUnavailable(StorageError):
    """The database did not answer; the operation can be retried when it is back."""


class DataRejected(StorageError):
    """The database refused the data of this statement (``sqlstate`` says why, when the
    server answered; None when the driver refused to encode it)."""

    def __init__(self, message: str, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


class MigrationError(StorageError):
    """The schema could not be brought to the version this code expects."""


class SchemaBehind(MigrationError):
    """Migrations or the TimescaleDB set-up are pending; ``millwright db upgrade`` applies them."""


class UnknownSourceError(StorageError):
    """A machine or sensor is not registered and settings forbid registering it."""
