"""keepalived: the operator's own config (incident 11), upstream samples, and keepalived -t."""

from __future__ import annotations

import ipaddress
import re
import subprocess
from pathlib import Path

from yamori.audit.context import AuditContext
from yamori.audit.keepalived import check_keepalived
from yamori.audit.keepalived_conf import build_model, expand_range, load_keepalived, parse_blocks, tokenize
from yamori.audit.runner import AuditRequest, run_audit
from yamori.config import Settings
from yamori.records import Severity

INCIDENT = "keepalived-vrrp-ipvs-dr-same-host.conf"


def _checks(path: Path, ctx: AuditContext | None = None) -> list[tuple[str, Severity, int | None]]:
    return [(f.check, f.severity, f.line) for f in check_keepalived(load_keepalived(path), ctx or AuditContext())]


def test_operators_config_gives_the_dr_finding(incidents: Path) -> None:
    findings = check_keepalived(load_keepalived(incidents / INCIDENT), AuditContext())
    dr = [f for f in findings if f.check == "keepalived.dr_director_is_real_server"]
    assert len(dr) == 1 and dr[0].severity is Severity.WARNING
    assert dr[0].line == 26     # the lvs_method DR line
    assert "192.168.0.1, 192.168.0.2" in dr[0].message and "192.168.0.0/24" in dr[0].message
    assert "nginx or HAProxy" in dr[0].advice and ":8080" in dr[0].advice and "--host" in dr[0].advice
    assert ("keepalived.sample_auth_pass", Severity.WARNING, 11) in _checks(incidents / INCIDENT)


def test_known_director_makes_it_critical(incidents: Path) -> None:
    ctx = AuditContext(director_addresses=frozenset({ipaddress.ip_address("192.168.0.2")}))
    dr = [f for f in check_keepalived(load_keepalived(incidents / INCIDENT), ctx)
          if f.check == "keepalived.dr_director_is_real_server"]
    assert [(f.severity, f.line) for f in dr] == [(Severity.CRITICAL, 41)]
    assert "ping" in dr[0].message.lower() or "bounce" in dr[0].message
    # A director that is not one of its real servers: no DR finding at all.
    other = AuditContext(director_addresses=frozenset({ipaddress.ip_address("192.168.0.9")}))
    assert not [c for c in _checks(incidents / INCIDENT, other) if c[0] == "keepalived.dr_director_is_real_server"]


def test_host_option_resolves_inventory_addresses(incidents: Path) -> None:
    settings = Settings.model_validate({"inventory": {"hosts": [{"name": "web1", "addresses": ["192.168.0.1"]}]}})
    findings = run_audit(settings, AuditRequest(paths=[str(incidents / INCIDENT)], host="web1"))
    assert ("keepalived.dr_director_is_real_server", Severity.CRITICAL, 29) in [
        (f.check, f.severity, f.line) for f in findings]


def test_valid_dr_layout_and_nat_samples_are_clean(corpora: Path) -> None:
    assert _checks(corpora / "keepalived/generated-2.2.7/dr-valid.conf") == []
    assert _checks(corpora / "keepalived/keepalived.conf.sample") == []


def test_every_corpus_sample_parses_without_crash(corpora: Path) -> None:
    files = [p for p in sorted((corpora / "keepalived").rglob("*"))
             if p.is_file() and p.suffix not in (".md", ".txt") and "ipvs-procfs" not in str(p)]
    assert len(files) >= 40
    for path in files:
        ka = load_keepalived(path)
        model = build_model(ka.nodes)
        assert ka.nodes, path
        check_keepalived(ka, AuditContext())
        bad = [vs for vs in model.virtual_servers if vs.method not in ("NAT", "DR", "TUN")]
        assert len(bad) == len([e for e in model.errors if "forwarding method" in e.message]), path


def test_sample_values_duplicates_and_missing_checks(tmp_path: Path) -> None:
    conf = tmp_path / "keepalived.conf"
    (tmp_path / "conf.d").mkdir()
    conf.write_text("! main\ninclude conf.d/*.conf\nvrrp_instance A {\n  interface eth0\n  virtual_router_id 7\n"
                    "  authentication {\n    auth_type PASS\n    auth_pass \"1111\"\n  }\n}\n")
    (tmp_path / "conf.d" / "b.conf").write_text(
        "vrrp_instance B\n{\n  interface eth0\n  virtual_router_id 7\n}\n"
        "virtual_server 192.0.2.10 443 {\n  lb_kind NAT\n  real_server 198.51.100.5 443 {\n    weight 1\n  }\n}\n")
    got = _checks(conf)
    assert ("keepalived.sample_auth_pass", Severity.WARNING, 8) in got
    # The include comes first, so instance A (line 3) is the second user of VRID 7 on eth0.
    assert ("keepalived.duplicate_vrid", Severity.WARNING, 3) in got
    assert ("keepalived.no_health_check", Severity.WARNING, 8) in got
    files = {f.file for f in check_keepalived(load_keepalived(conf), AuditContext())}
    assert str(tmp_path / "conf.d" / "b.conf") in files


def test_tokenizer_and_ranges() -> None:
    assert tokenize('a "b c" {d} # x') == ["a", "b c", "{", "d", "}"]
    assert tokenize("auth_pass 1111 ! comment") == ["auth_pass", "1111"]
    assert len(expand_range("192.0.2.20-29")) == 10
    _, errors = parse_blocks("a {\n b {\n}\n")
    assert [e.line for e in errors] == [1]


def test_brace_errors_agree_with_keepalived_config_test(corpora: Path) -> None:
    """keepalived -t is the cross-check: where it counts missing braces, we report an unclosed block."""
    for name in ("dr-mistakes.conf", "dr-valid.conf"):
        path = corpora / "keepalived/generated-2.2.7" / name
        out = subprocess.run(["keepalived", "-t", "-l", "-D", "-n", "-f", str(path)], capture_output=True,
                             text=True, timeout=30)
        text = out.stdout + out.stderr
        theirs = re.search(r"There are (\d+) missing '}'s", text)
        ours = [c for c in _checks(path) if c[0] == "keepalived.syntax" and c[2] is not None]
        unclosed = [f for f in check_keepalived(load_keepalived(path), AuditContext()) if "never closed" in f.message]
        assert len(unclosed) == (int(theirs.group(1)) if theirs else 0), (name, text)
        if name == "dr-valid.conf":
            assert out.returncode == 0 and ours == []
        else:
            assert out.returncode != 0
            assert any("DRR" in f.message for f in check_keepalived(load_keepalived(path), AuditContext()))
