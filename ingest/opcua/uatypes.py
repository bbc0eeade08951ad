"""asyncua's NewType-typed constructors, spelled once with the casts mypy needs."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from asyncua import ua


def node_id(identifier: int | str, ns: int, kind: ua.NodeIdType | None = None) -> ua.NodeId:
    """A NodeId from plain Python values."""
    ident = (
        cast(ua.String, identifier) if isinstance(identifier, str) else cast(ua.Int32, identifier)
    )
    if kind is None:
        return ua.NodeId(ident, cast(ua.Int16, ns))
    return ua.NodeId(ident, cast(ua.Int16, ns), kind)


def status(code: int) -> ua.StatusCode:
    return ua.StatusCode(cast(ua.UInt32, code))


def ua_datetime(value: datetime) -> ua.DateTime:
    return cast(ua.DateTime, value)


def boolean(value: bool) -> ua.Boolean:
    return cast(ua.Boolean, value)
