"""The one rule for machine, sensor, group, node, device and tag names, whatever the source.

A name is at most :data:`MAX_NAME` characters, has no NUL or other control characters, is
valid Unicode (no lone surrogates: they cannot be stored as UTF-8) and is stored in Unicode
normal form C, so ``"Temp\u0301"`` and ``"Tempé"`` typed on two keyboards are one sensor.

Every source applies it: MQTT topic levels and JSON names (:mod:`ingest.decoders`), Sparkplug
group, edge node, device and metric names (:mod:`ingest.sparkplug`), OPC-UA mapped names
(:mod:`ingest.opcua.config`). A name that breaks it dead-letters the reading that carries it,
with the reason, and the rest of the payload is kept. The database would refuse most of these
names anyway (an index row too large, a NUL byte), but a refusal there costs a bisected
batch; here it costs a string check.

The ASCII case, nearly every real name, is three C-level string calls; other names are
checked once and cached, since plants publish the same few thousand names all day.
"""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_NAME", "InvalidName", "check_name", "name_problem"]

MAX_NAME = 200
_CACHE_LIMIT = 100_000
_checked: dict[str, str] = {}  # non-ASCII name → its NFC form (only names that passed)


class InvalidName(ValueError):
    """A name breaks the naming rule; the message says which part and how."""


def check_name(value: str, what: str) -> str:
    """``value`` as it will be stored (NFC), or :class:`InvalidName` saying what is wrong.

    ``what`` names the role in the message ("machine", "sensor", "Sparkplug metric", ...).
    """
    if value.isascii():
        if len(value) <= MAX_NAME and value.isprintable() and value:
            return value
    else:
        known = _checked.get(value)
        if known is not None:
            return known
    problem = name_problem(value)
    if problem is not None:
        raise InvalidName(f"{what} name {_preview(value)} {problem}")
    normal = unicodedata.normalize("NFC", value)
    if len(_checked) >= _CACHE_LIMIT:
        _checked.clear()
    _checked[value] = normal
    return normal


def name_problem(value: str) -> str | None:
    """What is wrong with a name (a phrase for a message), or None when it is fine."""
    if not value:
        return "is empty"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode)"
    if "\x00" in value:
        return "contains a NUL character"
    if any(unicodedata.category(c) == "Cc" for c in value):
        return "contains a control character"
    normal = unicodedata.normalize("NFC", value)
    if len(normal) > MAX_NAME:
        return f"is {len(normal)} characters long (at most {MAX_NAME})"
    return None


def _preview(value: str, limit: int = 40) -> str:
    """A short, printable rendering of a name for a message (repr escapes NUL, surrogates)."""
    text = repr(value[:limit]) if len(value) <= limit else repr(value[: limit - 3]) + "..."
    return text
