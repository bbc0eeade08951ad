"""How coarse a trend may be: the bucket width for a time range.

A chart is a few hundred pixels wide, so sending more than a few hundred points per sensor
only costs transfer and rendering time. The database aggregates to the chosen bucket
(`dashboard.queries.sensor_trends`), so a week of one-minute data arrives as ~340 points per
sensor with its min/max envelope instead of 10 080 raw samples.
"""

from __future__ import annotations

from datetime import timedelta

# Widths people read easily on an axis; the smallest one that keeps points under the target.
NICE_BUCKETS_S = (
    60,
    120,
    300,
    600,
    900,
    1800,
    3600,
    2 * 3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86_400,
)
TARGET_POINTS = 400

# The ranges the machine page offers, by the label in its URL (`?range=7d`).
RANGES: dict[str, timedelta] = {
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
DEFAULT_RANGE = "24h"


def choose_bucket(span: timedelta, target_points: int = TARGET_POINTS) -> timedelta:
    """The smallest nice bucket that keeps ``span`` under ``target_points`` points."""
    if span <= timedelta(0):
        raise ValueError(f"a time range must be positive, got {span}.")
    if target_points < 1:
        raise ValueError(f"target_points must be at least 1, got {target_points}.")
    needed = span.total_seconds() / target_points
    for seconds in NICE_BUCKETS_S:
        if seconds >= needed:
            return timedelta(seconds=seconds)
    days = -(-needed // 86_400)  # ceil to whole days beyond the table
    return timedelta(days=days)


def parse_range(label: str | None) -> tuple[str, timedelta]:
    """A range label from the URL or the selector; unknown labels fall back to the default."""
    if label in RANGES:
        return label, RANGES[label]
    return DEFAULT_RANGE, RANGES[DEFAULT_RANGE]


def hourly_view_applies(bucket: timedelta) -> bool:
    """Whether `readings_1h` can serve this bucket (a whole number of hours)."""
    seconds = int(bucket.total_seconds())
    return seconds >= 3600 and seconds % 3600 == 0
