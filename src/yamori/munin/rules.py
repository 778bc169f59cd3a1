"""A field's `.warning` / `.critical` ranges as yamori threshold rules (alerts/rules.py).

A yamori rule watches one side: `min:max` becomes a `.high` rule (above max) and a `.low`
rule (below min); `max` alone (Munin's short form) is the high side only."""

from __future__ import annotations

from ..config.alerts import RuleSettings
from .protocol import Graph, Range
from .reading import metric_name


def field_rules(graphs: list[Graph]) -> list[RuleSettings]:
    rules: list[RuleSettings] = []
    for graph in graphs:
        for fld in graph.fields.values():
            warning, critical = fld.warning, fld.critical
            metric = metric_name(graph.name, fld.name)
            labels = {"plugin": graph.name, "field": fld.name}
            for side, above in (("high", True), ("low", False)):
                warn = _edge(warning, above)
                crit = _edge(critical, above)
                if warn is None and crit is None:
                    continue
                rules.append(RuleSettings.model_validate({
                    "name": f"munin.{graph.name}.{fld.name}.{side}", "metric": metric, "labels": labels,
                    "above": above, "warning": warn, "critical": crit,
                    "advice": f"Munin plugin {graph.name}: {fld.label or fld.name}"
                              f" (warning {warning.text() if warning else '-'},"
                              f" critical {critical.text() if critical else '-'})",
                }))
    return rules


def _edge(bound: Range | None, above: bool) -> float | None:
    if bound is None:
        return None
    return bound.high if above else bound.low
