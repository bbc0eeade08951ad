"""Storage: migrations, the connection pool, TimescaleDB detection, the bulk writer and readers."""

from millwright.core.storage.database import (
    Database,
    connect_database,
    open_database,
    translate_error,
)
from millwright.core.storage.errors import (
    DatabaseUnavailable,
    DataRejected,
    MigrationError,
    SchemaBehind,
    StorageError,
    UnknownSourceError,
)
from millwright.core.storage.readings import (
    Quality,
    Reading,
    ReadingColumns,
    ReadingsWriter,
    Rejection,
    WriteResult,
    read_readings,
    sensor_names,
)
from millwright.core.storage.risk import LatestRisk, latest_risks
from millwright.core.storage.sources import SourceRegistry

__all__ = [
    "DataRejected",
    "Database",
    "DatabaseUnavailable",
    "LatestRisk",
    "MigrationError",
    "Quality",
    "Reading",
    "ReadingColumns",
    "ReadingsWriter",
    "Rejection",
    "SchemaBehind",
    "SourceRegistry",
    "StorageError",
    "UnknownSourceError",
    "WriteResult",
    "connect_database",
    "latest_risks",
    "open_database",
    "read_readings",
    "sensor_names",
    "translate_error",
]
