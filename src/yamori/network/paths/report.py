"""`net diagnose` output: the JSON contract and the rows of the table."""

from __future__ import annotations

from typing import Any

from ...records import Finding
from .model import Round, TargetResult
from .verdict import Verdict


def target_json(result: TargetResult) -> dict[str, Any]:
    http = result.http
    tcp = result.tcp
    if http is not None:
        ok = http.ok and tcp.ok
        status = http.status
        latency = round(sorted(http.latency_ms)[len(http.latency_ms) // 2], 3) if http.latency_ms else None
        error = http.error if not http.ok else (None if tcp.ok else tcp.error)
        tls_days = None if http.tls is None or http.tls.days_left is None else round(http.tls.days_left, 1)
    else:
        ok = tcp.ok
        status = None
        latency = round(sorted(tcp.connect_ms)[len(tcp.connect_ms) // 2], 3) if tcp.connect_ms else None
        error = tcp.error
        tls_days = None
    data: dict[str, Any] = {"url": result.target.url, "ok": ok, "status": status, "latency_ms": latency,
                            "error": error, "tls_days_left": tls_days,
                            "tcp": tcp.as_json(), "icmp": result.icmp.as_json() if result.icmp else None,
                            "held_connection_ok": result.held}
    if http is not None and http.tls is not None:
        data["tls"] = {"chain_valid": http.tls.chain_valid, "name_match": http.tls.name_match,
                       "error": http.tls.error}
    if http is not None:
        data["redirects"] = http.redirects
        data["body_ok"] = http.body_ok
    return data


def path_json(measured: Round, verdict: Verdict) -> dict[str, Any]:
    return {
        "name": measured.path,
        "hops": [{"name": h.hop.name, "address": h.hop.address, "icmp": h.icmp.as_json(),
                  "tcp": [t.as_json() for t in h.tcp], "trace": [t.as_json() for t in h.trace]}
                 for h in measured.hops],
        "targets": [target_json(t) for t in measured.targets],
        "verdict": verdict.as_json(),
    }


def finding_json(finding: Finding) -> dict[str, Any]:
    return {"check": finding.check, "severity": str(finding.severity), "subject": finding.subject,
            "message": finding.message, "advice": finding.advice}


def diagnose_json(results: list[tuple[Round, Verdict]], extra: list[Finding] | None = None) -> dict[str, Any]:
    findings = [f for _, v in results for f in v.findings] + list(extra or [])
    return {"paths": [path_json(r, v) for r, v in results], "findings": [finding_json(f) for f in findings]}
