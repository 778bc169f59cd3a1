"""Configuration drift: the audit probe feeds the real alert engine, which alerts on each new
(check, subject) once, not on every run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from yamori.alerts.engine import Alerting
from yamori.audit.probe import AuditProbe
from yamori.config import Settings
from yamori.config.alerts import AlertsSettings
from yamori.probe import run_probe


def test_a_new_stale_rule_alerts_once(tmp_path: Path) -> None:
    hba = tmp_path / "pg_hba.conf"
    hba.write_text("local all postgres peer\nhost all all 10.20.0.0/16 scram-sha-256\n")
    settings = Settings.model_validate({
        "inventory": {"networks": [{"name": "app", "cidr": "10.20.0.0/16"}]},
        "audit": {"paths": [str(hba)]},
    })
    probe = AuditProbe(settings)
    now = [1_700_000_000.0]
    engine = Alerting(AlertsSettings(), tmp_path / "state", "db1", clock=lambda: now[0])
    try:
        assert engine.observe(asyncio.run(run_probe(probe))) == []
        with hba.open("a") as f:
            f.write("host all all 192.168.0.0/24 scram-sha-256\n")
        now[0] += 3600
        [change] = engine.observe(asyncio.run(run_probe(probe)))
        assert change.rule == "hba.undeclared_network"
        assert change.subject == f"{hba}:3 host all all 192.168.0.0/24 scram-sha-256"
        now[0] += 3600
        assert engine.observe(asyncio.run(run_probe(probe))) == [], "an unchanged finding is not news"
    finally:
        engine.close()
