"""Storage errors, translated from psycopg at the boundary so callers see Millwright's own.

StorageError
├── DatabaseUnavailable   the server cannot be reached (retry later; buffers take over)
├── MigrationError        a migration failed or the schema is newer than this code
│   └── SchemaBehind      the database needs `millwright db upgrade` before services start
└── UnknownSourceError    a machine or sensor is unknown and registration is off
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class of every storage failure."""


class DatabaseUnavailable(StorageError):
    """The database did not answer; the operation can be retried when it is back."""


class MigrationError(StorageError):
    """The schema could not be brought to the version this code expects."""


class SchemaBehind(MigrationError):
    """Migrations or the TimescaleDB set-up are pending; ``millwright db upgrade`` applies them."""


class UnknownSourceError(StorageError):
    """A machine or sensor is not registered and settings forbid registering it."""
