"""What each page shows, as JSON-ready dicts: the pages render them, /api/… returns them.

Only states and what the operator needs to act; /healthz gets the smallest view (no names,
no addresses, no URLs)."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from ..records import Finding, Sample, State, worst_state
from .view import WebView


def _iso(stamp: float | None) -> str | None:
    if stamp is None:
        return None
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def finding_json(f: Finding) -> dict[str, Any]:
    return {"check": f.check, "severity": f.severity.name, "subject": f.subject, "message": f.message,
            "advice": f.advice, "file": f.file, "line": f.line}


def sample_json(s: Sample) -> dict[str, Any]:
    return {"metric": s.metric, "labels": s.labels, "value": s.value, "unit": s.unit}


def health(view: WebView) -> dict[str, Any]:
    results = list(view.results.values())
    delivery = view.delivery()
    alerts = view.alerts()
    return {
        "status": "ok",
        "state": worst_state([r.state for r in results]).label,
        "uptime_seconds": round(view.clock() - view.started, 1),
        "probes": [{"name": r.name, "state": r.state.label} for r in results],
        "services": list(view.services),
        "alerts": dict(Counter(str(a.get("state")) for a in alerts)),
        "delivery": {"configured": bool(delivery.configured), "failing": bool(delivery.failing),
                     "pending": int(delivery.pending)},
    }


def _delivery(view: WebView) -> dict[str, Any]:
    d = view.delivery()
    return {
        "configured": bool(d.configured),
        "pending": int(d.pending),
        "last_success": _iso(d.last_success_at),
        # descriptions come redacted from the alerts package (a webhook is named by its host only)
        "notifiers": [{"name": n.name, "description": n.description, "failures": n.failures,
                       "last_error": _redact(n.last_error),
                       "last_success": _iso(n.last_success_at)} for n in d.notifiers],
    }


def _redact(text: str | None) -> str | None:
    from ..redact import scrub

    return scrub(text) if text else text


def _alerts(view: WebView) -> list[dict[str, Any]]:
    order = {"CRITICAL": 0, "WARNING": 1, "UNKNOWN": 2, "OK": 3}
    return sorted(view.alerts(), key=lambda a: (order.get(str(a.get("state")), 9), str(a.get("rule"))))


def _events(view: WebView, limit: int = 50) -> list[dict[str, Any]]:
    return [{"time": _iso(e.time), "source": e.source, **finding_json(e.finding)}
            for e in list(view.events)[-limit:][::-1]]


def _bans(view: WebView) -> list[dict[str, Any]]:
    try:
        bans = view.bans()
    except Exception:   # an unreadable bans file: the page still loads
        return []
    return [{"address": addr, "until": _iso(info.get("until")), "offense": int(info.get("offense", 1))}
            for addr, info in sorted(bans.items())]


def _audit(view: WebView) -> dict[str, Any]:
    result = view.results.get("audit")
    findings = view.audit_findings if view.audit_findings is not None else (result.findings if result else [])
    ran = view.audit_ran_at or (result.started if result else None)
    return {"ran_at": _iso(ran), "findings": [finding_json(f) for f in findings]}


def hosts(view: WebView, latest: list[Sample]) -> list[dict[str, Any]]:
    """Every host that writes to the store (several agents may share one PostgreSQL store)."""
    seen: dict[str, list[float]] = {}
    for s in latest:
        seen.setdefault(s.labels.get("host", ""), []).append(s.time or 0.0)
    now = view.clock()
    return [{"host": h, "series": len(times), "last_sample": _iso(max(times)),
             "stale": now - max(times) > 900, "this": h == view.hostname}
            for h, times in sorted(seen.items())]


def overview(view: WebView) -> dict[str, Any]:
    results = sorted(view.results.values(), key=lambda r: (-r.state.value if r.state is not State.UNKNOWN else -1.5,
                                                            r.name))
    return {
        "host": view.hostname,
        "state": worst_state([r.state for r in view.results.values()]).label,
        "alerts": _alerts(view),
        "probes": [{"name": r.name, "state": r.state.label, "reason": r.reason, "checked": _iso(r.started),
                    "findings": [finding_json(f) for f in r.findings]} for r in results],
        "services": list(view.services),
        "delivery": _delivery(view),
        "guard": {"events": _events(view, 20), "bans": _bans(view)},
        "audit": _audit(view),
    }


def _probe_pages(view: WebView, prefix: str) -> list[dict[str, Any]]:
    out = []
    for name, r in sorted(view.results.items()):
        if name == prefix or name.startswith(prefix + "."):
            out.append({"name": name, "state": r.state.label, "reason": r.reason, "checked": _iso(r.started),
                        "findings": [finding_json(f) for f in r.findings],
                        "samples": [sample_json(s) for s in r.samples]})
    return out


def raid(view: WebView, detail: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The raid probe's measurements per array, with members, flags and the running sync
    from /proc/mdstat when the agent could read it."""
    probes = _probe_pages(view, "raid")
    arrays: dict[str, dict[str, Any]] = {}
    for p in probes:
        for s in p["samples"]:
            name = s["labels"].get("array", "")
            arrays.setdefault(name, {"array": name})[s["metric"].removeprefix("raid_")] = s["value"]
    for d in detail or []:
        arrays.setdefault(d["array"], {"array": d["array"]}).update(d)
    return {"probes": probes, "arrays": [arrays[k] for k in sorted(arrays)]}


def postgres(view: WebView) -> dict[str, Any]:
    probes = _probe_pages(view, "postgres") + _probe_pages(view, "pgpool")
    return {"probes": probes}


def guard(view: WebView) -> dict[str, Any]:
    classes: Counter[str] = Counter()
    for samples in view.service_samples.values():
        for s in samples:
            if s.metric == "guard_auth_failures_total":
                classes[s.labels.get("kind", "")] += int(s.value)
    if not classes:   # the counters arrive once a minute; until then, the events tell
        classes.update(e.finding.check.removeprefix("guard.") for e in view.events)
    return {
        "classes": [{"class": k, "count": n} for k, n in classes.most_common()],
        "events": _events(view, 200),
        "bans": _bans(view),
    }


def audit(view: WebView) -> dict[str, Any]:
    return _audit(view)


def environment_api(view: WebView) -> dict[str, Any]:
    """Each room sensor's last reading and the envelopes it is judged by, in °C and g/kg."""
    from . import envchart

    result = view.results.get("environment")
    return {"checked": _iso(result.started) if result else None, "sensors": envchart.sensors(result),
            "envelope": envchart.envelope(view.equipment_class)}


def environment(view: WebView) -> dict[str, Any]:
    from . import envchart

    data = environment_api(view)
    return {**data, "chart": envchart.chart(data["sensors"], view.equipment_class)}
