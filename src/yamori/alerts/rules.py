"""Threshold rules over samples: which series a rule watches and what state a value means.

Pure: a rule and a value (plus the state the series is in, for hysteresis) give a state.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..config.alerts import RuleSettings
from ..records import Sample, State


@dataclass(frozen=True, slots=True)
class Verdict:
    state: State
    threshold: float | None   # the threshold crossed (None when OK)


def merge_rules(defaults: Sequence[RuleSettings | Mapping[str, object]] | None,
                configured: Iterable[RuleSettings]) -> list[RuleSettings]:
    """Defaults first, then the operator's rules; a configured rule replaces the default of the
    same name. Defaults may be given as plain dicts (the system domain's DEFAULT_RULES)."""
    merged: dict[str, RuleSettings] = {}
    for rule in defaults or ():
        parsed = rule if isinstance(rule, RuleSettings) else RuleSettings.model_validate(dict(rule))
        merged[parsed.name] = parsed
    for rule in configured:
        merged[rule.name] = rule
    return list(merged.values())


def index_rules(rules: Iterable[RuleSettings]) -> dict[str, list[RuleSettings]]:
    """metric -> rules watching it, so each sample costs one dict lookup."""
    index: dict[str, list[RuleSettings]] = {}
    for rule in rules:
        index.setdefault(rule.metric, []).append(rule)
    return index


def matches(rule: RuleSettings, sample: Sample) -> bool:
    return sample.metric == rule.metric and all(sample.labels.get(k) == v for k, v in rule.labels.items())


def evaluate(rule: RuleSettings, value: float, current: State = State.OK) -> Verdict:
    """The state `value` puts the series in. `current` is the series' present condition:
    a threshold already crossed clears only once the value is `hysteresis` back past it
    (WARNING at 90 with hysteresis 5 clears below 85)."""
    if math.isnan(value):
        return Verdict(current, None)  # no information: keep what we had
    for state, threshold in ((State.CRITICAL, rule.critical), (State.WARNING, rule.warning)):
        if threshold is None:
            continue
        held = _rank(current) >= _rank(state)
        if _crossed(rule, value, threshold, rule.hysteresis if held else 0.0):
            return Verdict(state, threshold)
    return Verdict(State.OK, None)


def _crossed(rule: RuleSettings, value: float, threshold: float, slack: float) -> bool:
    if rule.above:
        return value >= threshold - slack
    return value <= threshold + slack


_RANKS = {State.OK: 0, State.UNKNOWN: 0, State.WARNING: 1, State.CRITICAL: 2}
_rank = _RANKS.__getitem__


def describe(rule: RuleSettings, sample: Sample, verdict: Verdict) -> str:
    """One plain sentence: `disk_used_percent{mount="/"} is 93.1 %, above the warning threshold 90`."""
    unit = f" {sample.unit}" if sample.unit else ""
    shown = f"{sample.value:.4g}{unit}"
    if verdict.threshold is None:
        return f"{sample.series_key()} is {shown}, back within limits"
    side = "above" if rule.above else "below"
    level = "critical" if verdict.state is State.CRITICAL else "warning"
    return f"{sample.series_key()} is {shown}, {side} the {level} threshold {verdict.threshold:g}{unit}"
