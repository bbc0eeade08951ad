"""Which rules apply to a machine: the configured entries resolved to domain `Rule`s.

Entries sharing a name are variants of one rule; a machine gets the most specific variant
(listed by name, then by class, then the catch-all with neither list), so one episode per
(machine, rule name) exists however many variants there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from alerts.config import RuleConfig
from alerts.episodes import Rule


def rules_for(configs: Sequence[RuleConfig], machine: str, machine_class: str | None) -> list[Rule]:
    """The rules that apply to ``machine``, one per rule name, in configuration order."""
    chosen: dict[str, tuple[int, RuleConfig]] = {}
    for config in configs:
        rank = _specificity(config, machine, machine_class)
        if rank is None:
            continue
        best = chosen.get(config.name)
        if best is None or rank > best[0]:
            chosen[config.name] = (rank, config)
    return [to_rule(config) for _, config in chosen.values()]


def _specificity(config: RuleConfig, machine: str, machine_class: str | None) -> int | None:
    if config.machines or config.machine_classes:
        if machine in config.machines:
            return 2
        if machine_class is not None and machine_class in config.machine_classes:
            return 1
        return None
    return 0


def to_rule(config: RuleConfig) -> Rule:
    """The domain rule for one configured entry (validated again by `Rule`)."""
    return Rule(
        name=config.name,
        warning_p_fail=config.warning_p_fail,
        critical_p_fail=config.critical_p_fail,
        resolve_p_fail=config.resolve_p_fail,
        warning_rul_low=config.warning_rul_low,
        critical_rul_low=config.critical_rul_low,
        resolve_rul_low=config.resolve_rul_low,
        min_duration=timedelta(seconds=config.min_duration_s),
        clear_duration=timedelta(seconds=config.clear_duration_s),
    )
