"""Words and units for people: labels for risk figures, features, reasons and durations.

No raw identifiers on screen: ``p_fail`` is "Failure risk (next 24 h)", a feature name
``ps30__max_6h`` is "ps30 · max over 6 h", a scheduler reason never shows minutes from the
plan origin or a bare hazard rate.
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import Any

RUL_LOW_LABEL = "Remaining life, 10 % low estimate"
STATS = {
    "count": "samples",
    "mean": "mean",
    "std": "spread (std)",
    "min": "min",
    "max": "max",
    "slope": "trend per hour",
    "ewma": "smoothed mean",
    "dev": "deviation from healthy",
    "last": "last value",
    "last_age_h": "hours since last sample",
}
MACHINE_FEATURES = {
    "hours_since_maintenance": "Hours since maintenance",
    "operating_hours_since_repair": "Operating hours since repair",
}
_WINDOW = re.compile(r"^(?P<stat>[a-z_]+?)_(?P<window>\d+[hm])$")
_WINDOW_WORDS = {"h": "h", "m": "min"}


def risk_label(horizon_hours: Any) -> str:
    """ "Failure risk (next 24 h)", with the model's horizon when it is known."""
    try:
        hours = float(horizon_hours)
    except (TypeError, ValueError):
        return "Failure risk"
    if math.isnan(hours):
        return "Failure risk"
    return f"Failure risk (next {hours:g} h)"


def sensor_words(name: str) -> str:
    return name.replace("_", " ").strip()


def _window_words(window: str) -> str:
    return f"{window[:-1]} {_WINDOW_WORDS[window[-1]]}"


_MACHINE_WINDOW_WORDS = {
    "error_count": "Errors in",
    "dev_rms": "Deviation from healthy, all sensors, over",
    "dev_rms_rate": "Deviation from healthy per hour (wear rate), all sensors, over",
}
"""Machine-wide per-window features (no sensor in the name): the words before the window."""


def feature_label(name: str) -> str:
    """A feature name in words: ``temp__mean_1h`` → "temp · mean over 1 h"."""
    if name in MACHINE_FEATURES:
        return MACHINE_FEATURES[name]
    sensor, sep, stat = name.partition("__")
    if not sep:
        match = _WINDOW.match(name)
        if match and match["stat"] in _MACHINE_WINDOW_WORDS:
            return f"{_MACHINE_WINDOW_WORDS[match['stat']]} {_window_words(match['window'])}"
        return sensor_words(name)
    match = _WINDOW.match(stat)
    if match:
        words = STATS.get(match["stat"], match["stat"].replace("_", " "))
        return f"{sensor_words(sensor)} · {words} over {_window_words(match['window'])}"
    return f"{sensor_words(sensor)} · {STATS.get(stat, stat.replace('_', ' '))}"


def feature_sensor_stat(name: str) -> tuple[str | None, str | None]:
    """The sensor and statistic a feature is made of (None for machine features)."""
    sensor, sep, stat = name.partition("__")
    if not sep:
        return None, None
    match = _WINDOW.match(stat)
    return sensor, (match["stat"] if match else stat)


def fmt_duration(delta: timedelta | float | None) -> str:
    """A duration for people: "45 s", "12 min", "3 h 20 min", "2 d 4 h"."""
    if delta is None:
        return "—"
    seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
    if math.isnan(seconds):
        return "—"
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def fmt_value(value: Any, unit: str = "") -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—"
    if math.isnan(number):
        return "—"
    text = f"{number:.4g}"
    return f"{text} {unit}".strip()


_DESCRIBE = re.compile(
    r"risk (?P<machine>\S+): p_fail=(?P<p>[0-9.]+), (?:rul_low=[-+0-9.eE]+|beyond horizon),"
    r" hazard=[-+0-9.eE]+"
)
_RAW_NUMBER_KEY = re.compile(r"\b(rul_low|rul|hazard|p_fail)\s*=\s*[-+0-9.eE]+,?\s*")
_PHRASES = (
    (
        re.compile(r"exposed on (\S+), no alternative worth it"),
        r"runs on \1 despite its risk (no healthier machine worth the move)",
    ),
    (re.compile(r"ends by rul_low"), "ends before its low remaining-life estimate"),
    (re.compile(r"\brul_low\b"), "remaining life (10 % low)"),
    (re.compile(r"\bp_fail\b"), "failure risk"),
)


def _risk_words(machine: str, p_fail: float, risks: list[Any]) -> str:
    for risk in risks:
        if isinstance(risk, dict) and risk.get("machine") == machine:
            rul_low = risk.get("rul_low_hours", risk.get("rul_low"))
            life = f", remaining life (10 % low) {fmt_hours_words(rul_low)}" if rul_low else ""
            return f"{machine} failure risk {p_fail:.0%}{life}"
    return f"{machine} failure risk {p_fail:.0%}"


def reason_words(reason: Any) -> str:
    """A scheduler reason (dict or text) in words, without raw minutes or hazard rates."""
    if isinstance(reason, dict):
        text = str(reason.get("text") or "")
        risk = reason.get("risk") or {}
        risks = list(reason.get("risks") or [])
    else:
        text, risk, risks = str(reason or ""), {}, []
    text = _DESCRIBE.sub(lambda m: _risk_words(m["machine"], float(m["p"]), risks), text)
    text = _RAW_NUMBER_KEY.sub("", text).strip(" ,;·:")
    for pattern, words in _PHRASES:
        text = pattern.sub(words, text)
    text = re.sub(r"\s{2,}", " ", text)
    parts = [text] if text else []
    if isinstance(risk, dict) and risk:
        rul_low = risk.get("rul_low_hours", risk.get("rul_low"))
        p_fail = risk.get("p_fail")
        horizon = risk.get("horizon_hours")
        if rul_low is not None:
            parts.append(f"{RUL_LOW_LABEL.lower()} {fmt_hours_words(rul_low)}")
        if p_fail is not None:
            parts.append(f"{risk_label(horizon).lower()} {float(p_fail):.0%}")
    return "; ".join(parts)


def fmt_hours_words(hours: Any) -> str:
    try:
        value = float(hours)
    except (TypeError, ValueError):
        return "—"
    if math.isinf(value):
        return "∞"
    return f"{value / 24:.1f} d" if value >= 72 else f"{value:.0f} h"


def maintenance_cause(reason: Any) -> str:
    """Why a maintenance task is in the plan, in a few words for the bar's label."""
    reason = reason if isinstance(reason, dict) else {}
    if reason.get("under_way"):
        return "Maintenance under way"
    risk = reason.get("risk") or {}
    if risk:
        rul_low = risk.get("rul_low_hours", risk.get("rul_low"))
        if rul_low is not None:
            return f"Risk: life ≤ {fmt_hours_words(rul_low)}"
        if risk.get("p_fail") is not None:
            return f"Risk: {float(risk['p_fail']):.0%} failure"
        return "Risk-driven maintenance"
    return "Planned maintenance"
