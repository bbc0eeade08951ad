"""Payload decoders for MQTT: bytes in, reading rows and dead-letter reasons out. No I/O.

Formats (``format`` of a subscription):

* ``number``: a bare number, ``21.5`` — machine and sensor come from the topic, the
  timestamp is the receive time (flagged with ``Quality.RECEIVE_TIME``);
* ``json``: ``{"ts": …, "value": …}`` (optional ``sensor``, ``machine``, ``quality``), and
  batches: a list of such objects; ``{"readings": [...]}``; ``{"ts": …, "values": {sensor:
  value, …}}`` (many sensors, one time); ``{"ts": [t1, …], "values": {sensor: [v1, …], …}}``
  (many sensors, many times — the cheapest shape to decode per reading);
* ``auto``: JSON when the payload starts with ``{`` or ``[``, else a bare number.

Booleans (``{"value": true}``) are refused with a reason unless the subscription says
``booleans = true`` (then true → 1.0, false → 0.0); a bare number is a plain decimal
(``1_000`` is refused: Python would read it as 1000, a plant's PLC would not mean it).

Every machine and sensor name, from the topic, the configuration or the payload, passes
:func:`ingest.names.check_name` (≤ 200 characters, no control characters, valid Unicode,
NFC); a reading whose name breaks it is dead-lettered and the rest of the payload is kept.

Timestamps are ISO-8601 with a zone (``2024-05-01T12:00:00Z``) or epoch milliseconds; a
missing timestamp takes the receive time and is flagged. A naive ISO timestamp is refused —
guessing its zone would silently shift data by hours.

Rows are ``(machine, sensor, ts_us, value, quality)`` (see :mod:`ingest.rows`). A batch
with some bad items keeps its good readings and reports one reason for the rest.

The columnar shape is decoded straight into numpy columns (:class:`ReadingColumns`, in
``Decoded.columns``) when every value is a finite number and the lists line up — one numpy
call per message instead of a Python tuple per reading, which is what keeps batched JSON
above 150,000 readings/s. Anything unusual falls back to the per-value path, which gives the
exact reason; ``Decoded.rows`` returns rows either way.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from ingest.names import MAX_NAME, InvalidName, check_name
from ingest.rows import Row, to_epoch_us
from millwright.core.storage import Quality, ReadingColumns

_MIN_US = 0
_MAX_US = 253_402_300_799_000_000  # 9999-12-31T23:59:59Z
_RECEIVE = int(Quality.RECEIVE_TIME)
_QUALITY_NAMES = {"good": 0, "uncertain": 1, "bad": 2}
_MAX_REASONS = 3


class _Bad(Exception):
    """One item's problem (internal; becomes part of a dead-letter reason)."""


@dataclass(slots=True)
class Decoded:
    """What one payload produced: readings, and a reason when (part of) it was unusable.

    Readings are either ``items`` (row tuples) or, from the columnar fast path, ``columns``;
    ``rows`` gives row tuples in both cases (collectors submit ``columns`` when present)."""

    items: list[Row] = field(default_factory=list)
    reason: str | None = None
    columns: ReadingColumns | None = None

    @property
    def rows(self) -> list[Row]:
        c = self.columns
        if c is None:
            return self.items
        return list(
            zip(
                c.machine.tolist(),
                c.sensor.tolist(),
                c.ts.astype("datetime64[us]").view(np.int64).tolist(),
                c.value.tolist(),
                c.quality.tolist(),
                strict=True,
            )
        )


def decode(
    payload: bytes,
    fmt: str,
    *,
    machine: str | None,
    sensor: str | None,
    receive_us: int,
    booleans: bool = False,
) -> Decoded:
    """Decode one payload; never raises for bad input (the reason says what was wrong)."""
    try:
        if fmt == "number" or (fmt == "auto" and payload[:1] not in (b"{", b"[", b" ", b"\n")):
            return _number(payload, machine, sensor, receive_us)
        if fmt in ("json", "auto"):
            value_of = _value_or_bool if booleans else _value
            return _json(payload, machine, sensor, receive_us, value_of)
    except _Bad as exc:
        return Decoded(reason=str(exc))
    except RecursionError:
        return Decoded(reason="payload is nested too deeply")
    return Decoded(reason=f"unknown payload format {fmt!r}")


def _number(payload: bytes, machine: str | None, sensor: str | None, receive_us: int) -> Decoded:
    if machine is None or sensor is None:
        raise _Bad("a bare number needs machine and sensor from the topic or configuration")
    machine, sensor = _name(machine, "machine"), _name(sensor, "sensor")
    try:
        if b"_" in payload:
            raise ValueError
        value = float(payload)
    except (ValueError, OverflowError):
        raise _Bad(f"payload {_preview(payload)} is not a number") from None
    if not math.isfinite(value):
        raise _Bad(f"payload {_preview(payload)} is not a finite number")
    return Decoded([(machine, sensor, receive_us, value, _RECEIVE)])


def _json(
    payload: bytes,
    machine: str | None,
    sensor: str | None,
    receive_us: int,
    value: ValueOf,
) -> Decoded:
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _Bad(f"payload is not valid JSON: {exc}") from None
    if isinstance(doc, dict):
        if "value" in doc:  # the common single-reading shape first: the hot path
            return Decoded([_item(doc, machine, sensor, receive_us, value)])
        if "values" in doc:
            # numpy reads [true, 1] as ints: without a boolean mapping, any boolean-looking
            # payload takes the per-value path, which names the boolean (one C-level search)
            fast = value is _value_or_bool or (b"true" not in payload and b"false" not in payload)
            return _values(doc, machine, receive_us, value, fast)
        if "readings" in doc:
            return _items(doc["readings"], machine, sensor, receive_us, "readings", value)
        raise _Bad("JSON object needs 'value', 'values' or 'readings'")
    if isinstance(doc, list):
        return _items(doc, machine, sensor, receive_us, "", value)
    if isinstance(doc, int | float) and not isinstance(doc, bool):
        return _number(payload, machine, sensor, receive_us)
    raise _Bad(f"JSON payload is a {type(doc).__name__}, expected an object or a list")


def _items(
    items: Any,
    machine: str | None,
    sensor: str | None,
    receive_us: int,
    where: str,
    value: ValueOf,
) -> Decoded:
    if not isinstance(items, list):
        raise _Bad(f"'{where}' must be a list")
    rows: list[Row] = []
    reasons: list[str] = []
    for i, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise _Bad("must be an object")
            rows.append(_item(item, machine, sensor, receive_us, value))
        except _Bad as exc:
            reasons.append(f"{where}[{i}]: {exc}")
    return Decoded(rows, _summary(reasons, len(items)))


def _item(
    item: dict[str, Any],
    machine: str | None,
    sensor: str | None,
    receive_us: int,
    value_of: ValueOf,
) -> Row:
    m = _name(item.get("machine", machine), "machine")
    s = _name(item.get("sensor", sensor), "sensor")
    value = value_of(item.get("value"))
    quality = _quality(item.get("quality", 0))
    ts = item.get("ts")
    if ts is None:
        return (m, s, receive_us, value, quality | _RECEIVE)
    return (m, s, _timestamp(ts), value, quality)


def _values(
    doc: dict[str, Any], machine: str | None, receive_us: int, value_of: ValueOf, fast_ok: bool
) -> Decoded:
    values = doc["values"]
    if not isinstance(values, dict) or not values:
        raise _Bad("'values' must be a non-empty object of sensor: value")
    m = _name(doc.get("machine", machine), "machine")
    quality = _quality(doc.get("quality", 0))
    ts = doc.get("ts")
    rows: list[Row] = []
    reasons: list[str] = []
    if isinstance(ts, list):  # columnar: many timestamps, a list of values per sensor
        times = [_timestamp(t) for t in ts]
        fast = (
            _columnar(m, values, times, quality, booleans=value_of is _value_or_bool)
            if fast_ok
            else None
        )
        if fast is not None:
            return Decoded(columns=fast)
        for sensor, column in values.items():
            try:
                s = _name(sensor, "sensor")
                if not isinstance(column, list) or len(column) != len(times):
                    raise _Bad(f"needs a list of {len(times)} values (one per ts)")
                rows.extend(
                    (m, s, t, value_of(v), quality) for t, v in zip(times, column, strict=True)
                )
            except _Bad as exc:
                reasons.append(f"values[{sensor!r}]: {exc}")
        return Decoded(rows, _summary(reasons, len(values)))
    if ts is None:
        t, quality = receive_us, quality | _RECEIVE
    else:
        t = _timestamp(ts)
    for sensor, v in values.items():
        try:
            rows.append((m, _name(sensor, "sensor"), t, value_of(v), quality))
        except _Bad as exc:
            reasons.append(f"values[{sensor!r}]: {exc}")
    return Decoded(rows, _summary(reasons, len(values)))


def _columnar(
    machine: str, values: dict[Any, Any], times: list[int], quality: int, *, booleans: bool
) -> ReadingColumns | None:
    """The columnar shape as numpy columns in one go, or None when anything is unusual
    (ragged or non-numeric lists, non-finite values, bad names): the per-value path then
    decodes it and says exactly what was wrong. Same rows, same order (sensor by sensor)."""
    try:
        sensors = [_name(s, "sensor") for s in values]
        grid = np.array(list(values.values()))
    except (_Bad, ValueError, OverflowError, TypeError):
        return None
    # ints and floats (and bools where the subscription maps them); anything else: slow path
    kinds = "biuf" if booleans else "iuf"
    if grid.dtype.kind not in kinds or grid.shape != (len(sensors), len(times)):
        return None
    value = grid.astype(np.float64).ravel()
    if not np.isfinite(value).all():
        return None
    n = len(value)
    return ReadingColumns(
        machine=np.array([machine], dtype=object).repeat(n),  # 10x cheaper than np.full
        sensor=np.repeat(np.array(sensors, dtype=object), len(times)),
        ts=np.tile(np.array(times, dtype=np.int64), len(sensors)).view("datetime64[us]"),
        value=value,
        quality=np.full(n, quality, dtype=np.int16),
    )


def _name(value: Any, what: str) -> str:
    # check_name's ASCII fast path inlined: this runs twice per reading on the hot path
    if (
        type(value) is str
        and value.isascii()
        and 0 < len(value) <= MAX_NAME
        and value.isprintable()
    ):
        return value
    if not isinstance(value, str) or not value:
        raise _Bad(f"no {what} (not in the topic, the configuration or the payload)")
    try:
        return check_name(value, what)
    except InvalidName as exc:
        raise _Bad(str(exc)) from None


ValueOf = Callable[[Any], float]


def _value_or_bool(value: Any) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return _value(value)


def _value(value: Any) -> float:
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        raise _Bad(f"value {value!r} is not a finite number")
    if isinstance(value, bool):
        raise _Bad(
            f"value {value!r} is a boolean; set booleans = true on the subscription to store"
            " true/false as 1/0"
        )
    if isinstance(value, int):
        try:
            return float(value)
        except OverflowError:
            raise _Bad("value is too large") from None
    raise _Bad(f"value {_preview(value)} is not a number")


def _quality(value: Any) -> int:
    if isinstance(value, str) and value.lower() in _QUALITY_NAMES:
        return _QUALITY_NAMES[value.lower()]
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1, 2):
        return value
    raise _Bad(f"quality {_preview(value)} is not good/uncertain/bad or 0/1/2")


def _timestamp(ts: Any) -> int:
    """Epoch microseconds from epoch milliseconds (number or digits) or ISO-8601 with zone."""
    if isinstance(ts, bool):
        raise _Bad("timestamp must be epoch milliseconds or ISO-8601, not a boolean")
    if isinstance(ts, str) and ts.isdigit():
        ts = int(ts)
    if isinstance(ts, int | float):
        if not (math.isfinite(ts) and 0 <= ts <= _MAX_US // 1000):
            raise _Bad(f"timestamp {_preview(ts)} is outside 1970..9999 in epoch milliseconds")
        us = round(ts * 1000)
    elif isinstance(ts, str):
        try:
            parsed = datetime.fromisoformat(ts)
        except ValueError:
            raise _Bad(f"timestamp {_preview(ts)} is not ISO-8601 or epoch milliseconds") from None
        if parsed.tzinfo is None:
            raise _Bad(f"timestamp {ts!r} has no timezone (add Z or +hh:mm)")
        us = to_epoch_us(parsed)
    else:
        raise _Bad(f"timestamp {_preview(ts)} is not ISO-8601 or epoch milliseconds")
    if not _MIN_US <= us <= _MAX_US:
        raise _Bad(f"timestamp {ts!r} is outside 1970..9999")
    return us


def _summary(reasons: list[str], total: int) -> str | None:
    if not reasons:
        return None
    shown = "; ".join(reasons[:_MAX_REASONS])
    more = f" (+{len(reasons) - _MAX_REASONS} more)" if len(reasons) > _MAX_REASONS else ""
    return f"{len(reasons)} of {total} items unusable: {shown}{more}"


def _preview(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
