"""Episode logic: hysteresis, minimum duration, escalation, resolve; pure, no I/O."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

import pytest

from alerts.config import RuleConfig
from alerts.episodes import (
    EpisodeState,
    Rule,
    Score,
    Severity,
    TransitionKind,
    evaluate,
)
from alerts.rules import rules_for

T0 = datetime(2024, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
RULE = Rule(
    "risk",
    warning_p_fail=0.5,
    critical_p_fail=0.8,
    resolve_p_fail=0.3,
    min_duration=timedelta(minutes=10),
)


def series(values: list[float], rul_low: list[float] | None = None) -> list[Score]:
    return [Score(T0 + i * STEP, v, rul_low[i] if rul_low else None) for i, v in enumerate(values)]


def noisy(seed: int = 42) -> list[float]:
    """Two risk episodes hovering around the warning threshold, in noise; seeded."""
    rng = random.Random(seed)

    def segment(level: float, spread: float, n: int) -> list[float]:
        return [min(0.99, max(0.0, level + rng.uniform(-spread, spread))) for _ in range(n)]

    return (
        segment(0.10, 0.05, 30)
        + segment(0.52, 0.12, 60)
        + segment(0.10, 0.05, 30)
        + segment(0.55, 0.12, 40)
        + segment(0.08, 0.05, 20)
    )


def kinds(scores: list[Score], rule: Rule = RULE) -> list[TransitionKind]:
    return [t.kind for t in evaluate(rule, EpisodeState(), scores).transitions]


def test_noisy_score_gives_one_alert_per_episode() -> None:
    values = noisy()
    crossings = sum(1 for a, b in itertools.pairwise(values) if a < 0.5 <= b)
    assert crossings > 20  # the score really is noisy around the threshold
    result = evaluate(RULE, EpisodeState(), series(values))
    assert [(t.kind, t.ts) for t in result.transitions] == [
        (TransitionKind.OPEN, T0 + 32 * STEP),
        (TransitionKind.RESOLVE, T0 + 90 * STEP),
        (TransitionKind.OPEN, T0 + 122 * STEP),
        (TransitionKind.RESOLVE, T0 + 160 * STEP),
    ]
    assert result.state.severity is None


def test_without_hysteresis_the_same_score_storms() -> None:
    storm = Rule("risk", warning_p_fail=0.5)
    opened = kinds(series(noisy()), storm).count(TransitionKind.OPEN)
    assert opened > 10


def test_minimum_duration_ignores_a_spike() -> None:
    assert kinds(series([0.1, 0.95, 0.1, 0.1])) == []
    # Held for 10 minutes (three samples 5 min apart): opens, directly at critical.
    result = evaluate(RULE, EpisodeState(), series([0.1, 0.9, 0.9, 0.9]))
    (opened,) = result.transitions
    assert (opened.kind, opened.severity, opened.ts) == (
        TransitionKind.OPEN,
        Severity.CRITICAL,
        T0 + 3 * STEP,
    )


def test_warning_escalates_once_and_never_de_escalates() -> None:
    values = [0.6, 0.6, 0.6, 0.85, 0.85, 0.85, 0.6, 0.9, 0.9, 0.9, 0.4, 0.2]
    result = evaluate(RULE, EpisodeState(), series(values))
    assert [(t.kind, t.severity) for t in result.transitions] == [
        (TransitionKind.OPEN, Severity.WARNING),
        (TransitionKind.ESCALATE, Severity.CRITICAL),
        (TransitionKind.RESOLVE, Severity.CRITICAL),
    ]


def test_rul_low_thresholds_and_clear_duration() -> None:
    rule = Rule(
        "rul",
        warning_rul_low=48,
        critical_rul_low=24,
        resolve_rul_low=72,
        clear_duration=timedelta(minutes=10),
    )
    ruls = [100, 40, 30, 20, 60, 80, 80, 80, 80]
    result = evaluate(rule, EpisodeState(), series([0.0] * len(ruls), [float(r) for r in ruls]))
    assert [(t.kind, t.ts) for t in result.transitions] == [
        (TransitionKind.OPEN, T0 + 1 * STEP),
        (TransitionKind.ESCALATE, T0 + 3 * STEP),
        (TransitionKind.RESOLVE, T0 + 7 * STEP),  # clear from step 5, held 10 min
    ]


def test_incremental_evaluation_matches_one_pass_and_is_idempotent() -> None:
    scores = series(noisy(7))
    whole = evaluate(RULE, EpisodeState(), scores)
    for cut in (1, 40, 95, 170):
        first = evaluate(RULE, EpisodeState(), scores[:cut])
        second = evaluate(RULE, first.state, scores)  # overlapping: old scores are skipped
        assert first.transitions + second.transitions == whole.transitions
    assert evaluate(RULE, whole.state, scores).transitions == ()


def test_rule_validation() -> None:
    with pytest.raises(ValueError, match="needs warning_p_fail or warning_rul_low"):
        Rule("x")
    with pytest.raises(ValueError, match="resolve_p_fail <= warning_p_fail"):
        Rule("x", warning_p_fail=0.5, resolve_p_fail=0.6)
    with pytest.raises(ValueError, match="critical_rul_low <= warning_rul_low"):
        Rule("x", warning_rul_low=10, critical_rul_low=20)
    with pytest.raises(ValueError, match="timezone-aware"):
        Score(datetime(2024, 1, 1), 0.5)


def test_most_specific_rule_variant_applies() -> None:
    configs = [
        RuleConfig(name="risk", warning_p_fail=0.5),
        RuleConfig(name="risk", machine_classes=["press"], warning_p_fail=0.6),
        RuleConfig(name="risk", machines=["press-7"], warning_p_fail=0.7),
        RuleConfig(name="rul", machine_classes=["lathe"], warning_rul_low=24),
    ]
    assert [r.warning_p_fail for r in rules_for(configs, "press-7", "press")] == [0.7]
    assert [r.warning_p_fail for r in rules_for(configs, "press-1", "press")] == [0.6]
    assert [r.name for r in rules_for(configs, "lathe-1", "lathe")] == ["risk", "rul"]
    assert [r.warning_p_fail for r in rules_for(configs, "oven", None)] == [0.5]
