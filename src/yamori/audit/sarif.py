"""Findings as SARIF 2.1.0, so code-scanning UIs (GitHub, GitLab) show them on the file line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import __version__
from ..records import Finding, Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {Severity.CRITICAL: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def to_sarif(findings: list[Finding], base: Path | None = None) -> dict[str, Any]:
    rules = sorted({f.check for f in findings})
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "yamori-audit", "version": __version__,
                "informationUri": "https://github.com/yamori/yamori",
                "rules": [{"id": r, "shortDescription": {"text": r}} for r in rules],
            }},
            "results": [_result(f, rules.index(f.check), base) for f in findings],
        }],
    }


def _result(finding: Finding, rule_index: int, base: Path | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.check,
        "ruleIndex": rule_index,
        "level": _LEVELS[finding.severity],
        "message": {"text": f"{finding.message} Fix: {finding.advice}" if finding.advice else finding.message},
        "partialFingerprints": {"subject": finding.subject},
    }
    if finding.file:
        location: dict[str, Any] = {"artifactLocation": {"uri": _uri(finding.file, base)}}
        if finding.line:
            location["region"] = {"startLine": finding.line}
        result["locations"] = [{"physicalLocation": location}]
    return result


def _uri(file: str, base: Path | None) -> str:
    path = Path(file)
    if base is not None:
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            pass
    return path.resolve().as_uri() if path.is_absolute() else path.as_posix()
