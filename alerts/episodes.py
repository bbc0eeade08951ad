"""Risk episodes: when a stream of scores becomes one alert that opens, escalates, resolves.

Pure logic, no I/O: :func:`evaluate` takes a rule, the episode state carried over from the
last evaluation, and the new scores, and returns the new state plus the transitions to
record. The store persists the state, so evaluation is incremental and idempotent (scores at
or before ``state.last_ts`` are ignored).

Three mechanisms keep a noisy score from becoming an alert storm:

- hysteresis: an episode opens above the warning threshold but resolves only below the
  (lower) resolve threshold, so a score dithering around the threshold stays one episode;
- minimum duration: a level must hold continuously for ``min_duration`` before it opens
  or escalates, so a single spike does not page anyone;
- no de-escalation: a critical episode stays critical until it resolves.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any


class Severity(enum.StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


class AlertState(enum.StrEnum):
    OPEN = "open"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


class TransitionKind(enum.StrEnum):
    OPEN = "open"
    ESCALATE = "escalate"
    RESOLVE = "resolve"


@dataclass(frozen=True)
class Score:
    """One risk score of one machine (a row of ``risk_scores``)."""

    ts: datetime
    p_fail: float
    rul_low: float | None = None
    rul: float | None = None
    horizon_hours: float | None = None
    model_version: str = ""
    top_features: tuple[dict[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise ValueError("a score's ts must be timezone-aware (UTC).")
        if not 0.0 <= self.p_fail <= 1.0:
            raise ValueError(f"p_fail must lie in [0, 1], got {self.p_fail}.")


@dataclass(frozen=True)
class Rule:
    """The thresholds of one rule as they apply to one machine (see `config.RuleConfig`)."""

    name: str
    warning_p_fail: float | None = None
    critical_p_fail: float | None = None
    resolve_p_fail: float | None = None
    warning_rul_low: float | None = None
    critical_rul_low: float | None = None
    resolve_rul_low: float | None = None
    min_duration: timedelta = timedelta(0)
    clear_duration: timedelta = timedelta(0)

    def __post_init__(self) -> None:
        if self.warning_p_fail is None and self.warning_rul_low is None:
            raise ValueError(f"rule {self.name!r} needs warning_p_fail or warning_rul_low.")
        if self.critical_p_fail is not None and self.warning_p_fail is None:
            raise ValueError(f"rule {self.name!r}: critical_p_fail needs warning_p_fail.")
        if self.critical_rul_low is not None and self.warning_rul_low is None:
            raise ValueError(f"rule {self.name!r}: critical_rul_low needs warning_rul_low.")
        if self.resolve_p_fail is None and self.warning_p_fail is not None:
            object.__setattr__(self, "resolve_p_fail", self.warning_p_fail)
        if self.resolve_rul_low is None and self.warning_rul_low is not None:
            object.__setattr__(self, "resolve_rul_low", self.warning_rul_low)
        w, c, r = self.warning_p_fail, self.critical_p_fail, self.resolve_p_fail
        if w is not None and ((c is not None and c < w) or (r is not None and r > w)):
            raise ValueError(
                f"rule {self.name!r}: expected resolve_p_fail <= warning_p_fail <= critical_p_fail."
            )
        w, c, r = self.warning_rul_low, self.critical_rul_low, self.resolve_rul_low
        if w is not None and ((c is not None and c > w) or (r is not None and r < w)):
            raise ValueError(
                f"rule {self.name!r}: expected critical_rul_low <= warning_rul_low"
                " <= resolve_rul_low."
            )
        if self.min_duration < timedelta(0) or self.clear_duration < timedelta(0):
            raise ValueError(f"rule {self.name!r}: durations must not be negative.")

    def level(self, score: Score) -> Severity | None:
        """The severity this one score reaches on its own, ``None`` below warning."""
        if _above(score.p_fail, self.critical_p_fail) or _below(
            score.rul_low, self.critical_rul_low
        ):
            return Severity.CRITICAL
        if _above(score.p_fail, self.warning_p_fail) or _below(score.rul_low, self.warning_rul_low):
            return Severity.WARNING
        return None

    def is_clear(self, score: Score) -> bool:
        """Whether the score is below the resolve thresholds (past the hysteresis band)."""
        p_ok = self.resolve_p_fail is None or score.p_fail < self.resolve_p_fail
        rul_ok = (
            self.resolve_rul_low is None
            or score.rul_low is None
            or score.rul_low > self.resolve_rul_low
        )
        return p_ok and rul_ok


def _above(value: float, threshold: float | None) -> bool:
    return threshold is not None and value >= threshold


def _below(value: float | None, threshold: float | None) -> bool:
    return threshold is not None and value is not None and value <= threshold


@dataclass(frozen=True)
class EpisodeState:
    """What one (machine, rule) carries between evaluations.

    ``severity`` is that of the episode in progress (``None``: no episode); the ``*_since``
    timestamps start the clocks of the minimum durations.
    """

    severity: Severity | None = None
    above_since: datetime | None = None
    critical_since: datetime | None = None
    clear_since: datetime | None = None
    last_ts: datetime | None = None


@dataclass(frozen=True)
class Transition:
    """A change to record: an episode opened, escalated to critical, or resolved."""

    kind: TransitionKind
    rule: str
    severity: Severity
    ts: datetime
    score: Score


@dataclass(frozen=True)
class Evaluation:
    """The outcome of :func:`evaluate`: the state to persist and the transitions, in order."""

    state: EpisodeState
    transitions: tuple[Transition, ...] = field(default_factory=tuple)


def evaluate(rule: Rule, state: EpisodeState, scores: Iterable[Score]) -> Evaluation:
    """Advance one (machine, rule) episode over ``scores`` (any order; old ones ignored)."""
    transitions: list[Transition] = []
    for score in sorted(scores, key=lambda s: s.ts):
        if state.last_ts is not None and score.ts <= state.last_ts:
            continue
        state, transition = step(rule, state, score)
        if transition is not None:
            transitions.append(transition)
    return Evaluation(state, tuple(transitions))


def step(rule: Rule, state: EpisodeState, score: Score) -> tuple[EpisodeState, Transition | None]:
    """Advance by one score; at most one transition per score."""
    level = rule.level(score)
    ts = score.ts
    above_since = (state.above_since or ts) if level is not None else None
    critical_since = (state.critical_since or ts) if level is Severity.CRITICAL else None
    held = _held(rule.min_duration, ts)
    state = replace(state, above_since=above_since, critical_since=critical_since, last_ts=ts)

    current = state.severity
    if current is None:
        if not held(above_since):
            return state, None
        severity = Severity.CRITICAL if held(critical_since) else Severity.WARNING
        opened = replace(state, severity=severity, clear_since=None)
        return opened, Transition(TransitionKind.OPEN, rule.name, severity, ts, score)

    if not rule.is_clear(score):
        state = replace(state, clear_since=None)
        if current is Severity.WARNING and held(critical_since):
            escalated = replace(state, severity=Severity.CRITICAL)
            kind = TransitionKind.ESCALATE
            return escalated, Transition(kind, rule.name, Severity.CRITICAL, ts, score)
        return state, None

    clear_since = state.clear_since or ts
    if ts - clear_since < rule.clear_duration:
        return replace(state, clear_since=clear_since), None
    resolved = EpisodeState(last_ts=ts)
    return resolved, Transition(TransitionKind.RESOLVE, rule.name, current, ts, score)


def _held(duration: timedelta, now: datetime) -> Callable[[datetime | None], bool]:
    def held(since: datetime | None) -> bool:
        return since is not None and now - since >= duration

    return held
