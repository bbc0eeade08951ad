"""Millwright's application shell.

Owns what every stage shares: the settings object, the one ``millwright`` CLI, storage
(migrations, connection pool, bulk writer, readers, TimescaleDB detection), the embedded
PostgreSQL default and users with their API tokens.
"""

__version__ = "0.1.0"
