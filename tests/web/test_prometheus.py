"""/metrics passes Prometheus' own linter; the contrib/ scrape config and rules load."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from pathlib import Path

import pytest

from .agentproc import Agent

REPO = Path(__file__).resolve().parent.parent.parent
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool missing: scripts/system-deps.sh installs "
                                    "Debian's prometheus package (make test runs it)")


@needs_promtool
def test_real_metrics_pass_promtool(dashboard_agent: Agent) -> None:
    with urllib.request.urlopen(dashboard_agent.url + "metrics", timeout=10) as response:
        text = response.read().decode()
    # what the linter is run on has every kind of family in it
    assert "# TYPE yamori_probe_duration_seconds histogram" in text
    assert 'yamori_probe_duration_seconds_bucket{le="+Inf",probe="raid"}' in text
    assert "# TYPE yamori_guard_bans_total counter" in text, text
    assert "yamori_guard_bans_total " in text
    assert "# TYPE yamori_raid_sync_speed_bytes_per_second gauge" in text
    families = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE")]
    helps = {line.split()[2] for line in text.splitlines() if line.startswith("# HELP")}
    assert set(families) <= helps, "HELP on every family"
    for line in text.splitlines():
        if line.startswith("# TYPE") and line.endswith(" gauge"):
            assert not line.split()[2].endswith("_total"), f"a counter exposed as a gauge: {line}"
    result = subprocess.run([PROMTOOL or "promtool", "check", "metrics"], input=text, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), (
        result.stdout + result.stderr)


@needs_promtool
def test_promtool_flags_what_it_should() -> None:
    """The check above can fail: promtool rejects a counter typed as a gauge."""
    bad = "# HELP x_total things\n# TYPE x_total gauge\nx_total 1\n"
    result = subprocess.run([PROMTOOL or "promtool", "check", "metrics"], input=bad, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0 or result.stdout.strip() or result.stderr.strip()


@needs_promtool
def test_contrib_config_and_rules_load() -> None:
    config = REPO / "contrib" / "prometheus" / "prometheus.yml"
    rules = REPO / "contrib" / "prometheus" / "yamori-rules.yml"
    out = subprocess.run([PROMTOOL or "promtool", "check", "config", "--syntax-only", str(config)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    out = subprocess.run([PROMTOOL or "promtool", "check", "rules", str(rules)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0 and "SUCCESS: 8 rules found" in out.stdout, out.stdout + out.stderr


@needs_promtool
def test_every_described_metric_passes_promtool_in_base_units() -> None:
    """Every metric a domain describes (system, RAID, PostgreSQL, guard, network), exposed
    once with its unit: promtool accepts the lot; ms, KiB/s, bit/s and days become base units."""
    import time

    from yamori.probe import ProbeResult
    from yamori.records import Sample, State
    from yamori.web.metrics import exposition, help_texts
    from yamori.web.view import WebView

    units = {}
    for module in ("system", "raid", "network"):
        table = __import__(f"yamori.{module}.metrics", fromlist=["METRICS"]).METRICS
        for name, entry in table.items():
            units[name] = entry["unit"] if isinstance(entry, dict) else entry.unit
    samples = [Sample(name, 1.5, {"device": "sda"}, unit) for name, unit in units.items()]
    samples.append(Sample("postgres.backup.age", 60.0, {"backup": "nightly"}, "seconds"))
    result = ProbeResult("all", State.OK, "", samples=samples, started=time.time(), duration=0.2)
    view = WebView(hostname="h", started=time.time(), clock=time.time, results={"all": result},
                   service_samples={}, services=[], alerts=list, delivery=lambda: None,
                   in_store=None, bans=dict, unban=None, run_audit=None)  # type: ignore[arg-type]
    view.durations.observe("all", 0.2)
    text = exposition(view).decode()
    assert set(units) <= set(help_texts())
    assert "yamori_disk_await_seconds" in text and "yamori_disk_await_ms" not in text
    assert "yamori_net_rtt_median_seconds" in text and 'yamori_net_rtt_median_seconds{device="sda"} 0.0015' in text
    assert "yamori_net_tls_seconds_left" in text
    result = subprocess.run([PROMTOOL or "promtool", "check", "metrics"], input=text, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stdout + result.stderr
