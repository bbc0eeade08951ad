"""From an OPC-UA DataValue to a reading's number, quality and timestamp — no I/O.

Quality follows the StatusCode's severity bits (Part 4, 7.34.1): 00 good, 01 uncertain,
10/11 bad; a sample is stored with its quality rather than dropped, so a sensor that went
bad shows up as bad data instead of silence. When the server sent no source timestamp, the
server timestamp (else the receive time) is used and the RECEIVE_TIME flag is set.

Non-numeric values go through the mapping's conversions (structure field → array index →
value map); what still is not a number raises :class:`NotNumeric` with a reason for the
dead-letter row.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import is_dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from asyncua import ua

from ingest.opcua.config import NodeMapping
from millwright.core.storage import Quality

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = timedelta(microseconds=1)
_SEVERITY_QUALITY = (int(Quality.GOOD), int(Quality.UNCERTAIN), int(Quality.BAD), int(Quality.BAD))
_INFO_TYPE_DATA_VALUE = 1
_OVERFLOW_BIT = 0x80

Converter = Callable[[Any], float]


class NotNumeric(ValueError):
    """The value is not a number and the mapping has no conversion that makes it one."""


def quality_of(status: int) -> int:
    """Reading quality of a StatusCode value, by its two severity bits."""
    return _SEVERITY_QUALITY[(status >> 30) & 0x3]


def is_overflow(status: int) -> bool:
    """The server's item queue overflowed: InfoType DataValue with the Overflow bit set."""
    return ((status >> 10) & 0x3) == _INFO_TYPE_DATA_VALUE and bool(status & _OVERFLOW_BIT)


def to_epoch_us(ts: datetime) -> int:
    """Exact microseconds since the Unix epoch of an aware datetime."""
    return (ts - EPOCH) // ONE_US


def _number(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    raise NotNumeric(f"{type(value).__name__} value is not a number")


def _describe(value: Any) -> str:
    if isinstance(value, list | tuple):
        return f"array of {len(value)} elements"
    if isinstance(value, str):
        return f"string {value[:60]!r}"
    if isinstance(value, ua.ExtensionObject):
        return "undecoded structure (ExtensionObject)"
    if is_dataclass(value):
        return f"structure {type(value).__name__}"
    return f"{type(value).__name__} value"


def _get_field(value: Any, path: list[str]) -> Any:
    for name in path:
        if isinstance(value, Mapping):
            if name not in value:
                raise NotNumeric(f"structure has no field {name!r} (has {sorted(value)})")
            value = value[name]
        elif hasattr(value, name):
            value = getattr(value, name)
        else:
            fields = sorted(getattr(value, "__dataclass_fields__", {}) or [])
            raise NotNumeric(
                f"{_describe(value)} has no field {name!r}"
                + (f" (has {', '.join(fields)})" if fields else "")
            )
    return value


def make_converter(mapping: NodeMapping) -> Converter:
    """The mapping's value → float conversion, built once per node."""
    field_path = mapping.field.split(".") if mapping.field else None
    index = mapping.index
    value_map = dict(mapping.value_map) if mapping.value_map else None
    hint = "; configure value_map, index or field for this node"

    def convert(value: Any) -> float:
        if field_path is not None:
            value = _get_field(value, field_path)
        if index is not None:
            if not isinstance(value, list | tuple):
                raise NotNumeric(f"index {index} configured but the value is {_describe(value)}")
            if index >= len(value):
                raise NotNumeric(f"index {index} out of range for an array of {len(value)}")
            value = value[index]
        if value_map is not None:
            key = value
            if isinstance(value, ua.LocalizedText):
                key = value.Text
            elif isinstance(value, enum.Enum):
                key = value.name
            if isinstance(key, str):
                if key in value_map:
                    return value_map[key]
                raise NotNumeric(f"string {key[:60]!r} is not in value_map ({sorted(value_map)})")
        try:
            return _number(value)
        except NotNumeric:
            if isinstance(value, enum.IntEnum):
                return float(int(value))
            raise NotNumeric(f"{_describe(value)} is not a number{hint}") from None

    return convert
