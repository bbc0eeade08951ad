"""The narrow row every collector produces, and the one timestamp conversion it needs.

The bottom of the ingest package: pure, standard library only, so decoders (pure) and the
pipeline (I/O) can both import it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Callback", "Row", "to_epoch_us"]

Row = tuple[str, str, int, float, int]  # machine, sensor, ts (µs since epoch, UTC), value, quality
Callback = Callable[[], object]  # return value ignored (e.g. paho ack returns a code)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_epoch_us(ts: datetime) -> int:
    """Microseconds since the epoch; naive datetimes are refused (their zone is unknown)."""
    if ts.tzinfo is None:
        raise ValueError(f"timestamp {ts.isoformat()} has no timezone.")
    delta = ts - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
