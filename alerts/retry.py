"""When to try a failed delivery again: exponential backoff with jitter, Retry-After first.

The jitter is "equal jitter" (half the delay fixed, half random) rather than full jitter:
it still spreads a burst of retries after an outage, and each delay is never shorter than
the previous one, so a receiver sees the pauses grow.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def backoff_delay(attempt: int, *, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt}.")
    full = min(cap_s, base_s * 2.0 ** min(attempt - 1, 60))
    return full / 2 + rng.uniform(0, full / 2)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a ``Retry-After`` header asks for (delta-seconds or HTTP-date); None if absent."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def retry_delay(
    attempt: int,
    retry_after_s: float | None,
    *,
    base_s: float,
    cap_s: float,
    max_retry_after_s: float,
    rng: random.Random,
) -> float:
    """The delay before the next attempt: the backoff, or longer if the receiver asked so."""
    delay = backoff_delay(attempt, base_s=base_s, cap_s=cap_s, rng=rng)
    if retry_after_s is not None:
        delay = max(delay, min(retry_after_s, max_retry_after_s))
    return delay
